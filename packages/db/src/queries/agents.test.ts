import { describe, expect } from "vitest";
import { NotFoundError } from "../errors";
import { dbTest, T0 } from "../test-fixture";
import { getAgent, listAgents, setAgentStatus, updateAgent, upsertAgent } from "./agents";

const register = (id: string, capabilities: string[], now = T0) => ({
  id,
  name: `Agent ${id}`,
  machine: "box",
  capabilities,
  maxConcurrent: 2,
  provider: "anthropic",
  model: "claude",
  now,
});

describe("agents", () => {
  dbTest("upsertAgent registers, then re-registers idempotently", ({ database: { db } }) => {
    const first = upsertAgent(db, register("a1", ["code"]));
    expect(first.isNew).toBe(true);
    expect(first.agent).toMatchObject({
      id: "a1",
      status: "online",
      capabilities: ["code"],
      breakerState: "closed",
      registeredAt: T0,
      lastSeenAt: T0,
      meta: {},
    });
    updateAgent(db, {
      id: "a1",
      set: { breakerState: "open", breakerFailures: 3, breakerOpenedAt: T0 + 1 },
      now: T0 + 1,
    });

    const again = upsertAgent(db, {
      ...register("a1", ["code", "research"], T0 + 50),
      maxConcurrent: 5,
      model: undefined,
    });
    expect(again.isNew).toBe(false);
    expect(again.agent).toMatchObject({
      capabilities: ["code", "research"],
      maxConcurrent: 5,
      model: "claude", // left undefined: kept
      registeredAt: T0, // survives
      breakerState: "open", // survives
      breakerFailures: 3,
      lastSeenAt: T0 + 50,
      updatedAt: T0 + 50,
    });
    expect(listAgents(db)).toHaveLength(1);
  });

  dbTest("listAgents filters by status and by capability (json_each)", ({ database: { db } }) => {
    upsertAgent(db, register("a1", ["code"]));
    upsertAgent(db, register("a2", ["research", "code-review"]));
    upsertAgent(db, { ...register("a3", ["code", "research"]), status: "busy" });
    expect(listAgents(db, { capability: "code" }).map((agent) => agent.id)).toEqual(["a1", "a3"]);
    expect(listAgents(db, { capability: "research", status: ["online"] }).map((agent) => agent.id)).toEqual([
      "a2",
    ]);
    expect(listAgents(db, { capability: "cod" })).toEqual([]);
    expect(listAgents(db, { capability: "' OR 1=1 --" })).toEqual([]);
    expect(getAgent(db, "a2")?.capabilities).toEqual(["research", "code-review"]);
    expect(getAgent(db, "zz")).toBeUndefined();
  });

  dbTest("setAgentStatus writes only on change", ({ database: { db } }) => {
    upsertAgent(db, register("a1", ["code"]));
    const same = setAgentStatus(db, { id: "a1", status: "online", now: T0 + 1 });
    expect(same).toMatchObject({ changed: false, agent: { status: "online", updatedAt: T0 } });
    const off = setAgentStatus(db, { id: "a1", status: "offline", now: T0 + 2 });
    expect(off).toMatchObject({ changed: true, agent: { status: "offline", updatedAt: T0 + 2 } });
    expect(() => setAgentStatus(db, { id: "ghost", status: "online", now: T0 })).toThrow(NotFoundError);
  });

  dbTest("updateAgent is conditional: only one caller claims the half-open probe", ({ database: { db } }) => {
    upsertAgent(db, register("a1", ["code"]));
    updateAgent(db, { id: "a1", set: { breakerState: "open" }, now: T0 });
    const claim = () =>
      updateAgent(db, {
        id: "a1",
        set: { breakerState: "half_open" },
        expect: { breakerState: ["open"] },
        now: T0 + 60_000,
      });
    expect(claim().changed).toBe(true);
    expect(claim()).toMatchObject({ changed: false, agent: { breakerState: "half_open" } });
    expect(() => updateAgent(db, { id: "ghost", set: {}, now: T0 })).toThrow(NotFoundError);
  });
});
