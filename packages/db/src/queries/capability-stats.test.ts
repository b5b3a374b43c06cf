import { describe, expect } from "vitest";
import { dbTest, seedAgent, T0 } from "../test-fixture";
import { getCapabilityStats, recordCapabilityOutcome } from "./capability-stats";

describe("capability stats", () => {
  dbTest("outcomes accumulate per agent and capability", ({ database: { db } }) => {
    seedAgent(db, "a1", ["code", "research"]);
    seedAgent(db, "a2", ["code"]);
    recordCapabilityOutcome(db, { agentId: "a1", capability: "code", success: true, now: T0 });
    recordCapabilityOutcome(db, { agentId: "a1", capability: "code", success: true, now: T0 + 1 });
    const last = recordCapabilityOutcome(db, {
      agentId: "a1",
      capability: "code",
      success: false,
      now: T0 + 2,
    });
    expect(last).toMatchObject({ successes: 2, failures: 1, lastOutcomeAt: T0 + 2, createdAt: T0 });
    recordCapabilityOutcome(db, { agentId: "a2", capability: "code", success: false, now: T0 + 3 });
    recordCapabilityOutcome(db, { agentId: "a1", capability: "research", success: true, now: T0 + 4 });

    expect(getCapabilityStats(db, "code").map((row) => [row.agentId, row.successes, row.failures])).toEqual([
      ["a1", 2, 1],
      ["a2", 0, 1],
    ]);
    expect(getCapabilityStats(db, "code", ["a2"]).map((row) => row.agentId)).toEqual(["a2"]);
    expect(getCapabilityStats(db, "code", [])).toEqual([]);
    expect(getCapabilityStats(db, "research")).toHaveLength(1);
  });

  dbTest("an unknown agent is rejected by the foreign key", ({ database: { db } }) => {
    expect(() =>
      recordCapabilityOutcome(db, { agentId: "ghost", capability: "code", success: true, now: T0 }),
    ).toThrow();
  });
});
