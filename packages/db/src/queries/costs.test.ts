import { describe, expect } from "vitest";
import { dbTest, T0 } from "../test-fixture";
import { upsertAgent } from "./agents";
import { DailyUsageTracker, insertCostRecord } from "./costs";

let n = 0;
function cost(agentId: string, tokens: number, now: number) {
  n += 1;
  return {
    id: `cost_${n}`,
    agentId,
    taskId: null,
    model: "m",
    inputTokens: tokens,
    outputTokens: 0,
    costUsd: tokens / 1000,
    now,
  };
}

describe("DailyUsageTracker", () => {
  dbTest(
    "peek inside a transaction sees its rows; a rollback leaves the tracker as it was",
    ({ database: { db } }) => {
      upsertAgent(db, { id: "a", name: "a", capabilities: ["echo"], maxConcurrent: 1, now: T0 });
      const tracker = new DailyUsageTracker();
      insertCostRecord(db, cost("a", 100, T0));
      tracker.refresh(db, T0);
      expect(tracker.get("a").tokens).toBe(100);

      expect(() =>
        db.transaction((tx) => {
          insertCostRecord(tx, cost("a", 50, T0));
          // The transaction sees its own row…
          expect(tracker.peek(tx, "a", T0).tokens).toBe(150);
          throw new Error("roll back");
        }),
      ).toThrow("roll back");
      // …and once it rolled back nothing of it stays in memory.
      expect(tracker.get("a").tokens).toBe(100);
      expect(tracker.peek(db, "a", T0).tokens).toBe(100);

      // The next committed row takes the rolled-back row's rowid; it must be counted, not skipped.
      insertCostRecord(db, cost("a", 7, T0));
      tracker.refresh(db, T0);
      expect(tracker.get("a").tokens).toBe(107);
    },
  );

  dbTest("peek on a day the tracker has not loaded sums that day alone", ({ database: { db } }) => {
    upsertAgent(db, { id: "a", name: "a", capabilities: ["echo"], maxConcurrent: 1, now: T0 });
    const tracker = new DailyUsageTracker();
    insertCostRecord(db, cost("a", 10, T0));
    tracker.refresh(db, T0);
    const tomorrow = T0 + 86_400_000;
    insertCostRecord(db, cost("a", 3, tomorrow));
    expect(tracker.peek(db, "a", tomorrow)).toEqual({ tokens: 3, costUsd: 0.003 });
    expect(tracker.get("a").tokens).toBe(10);
  });
});
