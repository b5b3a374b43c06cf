import { describe, expect } from "vitest";
import { dbTest, seedAgent, T0 } from "../test-fixture";
import { decideApproval, expireApprovals, insertApproval } from "./approvals";
import {
  DAY_MS,
  DailyUsageTracker,
  effectiveTokenCap,
  insertCostRecord,
  utcDayKey,
  utcDayStart,
} from "./costs";
import { closeOutage, listOutagesOverlapping, openOutage } from "./outages";
import {
  deleteContextEntry,
  getContextEntry,
  listContext,
  putContextEntry,
  toApiContextEntry,
} from "./shared-context";
import { insertTask } from "./tasks";
import { deleteTemplate, insertTemplate, seedTemplatesOnFirstRun, updateTemplate } from "./templates";

let n = 0;
const cost = (agentId: string, tokens: number, usd: number, at: number) => ({
  id: `cost_${++n}`,
  agentId,
  taskId: null,
  model: "m",
  inputTokens: tokens,
  outputTokens: 0,
  costUsd: usd,
  now: at,
});

describe("costs", () => {
  dbTest("the daily tracker reads only new rows and starts over at midnight UTC", ({ database: { db } }) => {
    const day = utcDayStart(T0);
    insertCostRecord(db, cost("a", 100, 1, day - 1)); // yesterday
    insertCostRecord(db, cost("a", 10, 0.5, day + 5));
    const tracker = new DailyUsageTracker();
    tracker.refresh(db, day + 10);
    expect(tracker.get("a")).toEqual({ tokens: 10, costUsd: 0.5 });
    insertCostRecord(db, cost("a", 5, 0.25, day + 20));
    insertCostRecord(db, cost("b", 7, 0, day + 21));
    tracker.refresh(db, day + 30);
    expect(tracker.get("a")).toEqual({ tokens: 15, costUsd: 0.75 });
    expect(tracker.get("b")).toEqual({ tokens: 7, costUsd: 0 });
    expect(tracker.get("nobody")).toEqual({ tokens: 0, costUsd: 0 });
    tracker.refresh(db, day + DAY_MS);
    expect(tracker.get("a")).toEqual({ tokens: 0, costUsd: 0 });
    expect(utcDayKey(day + DAY_MS)).toBe(new Date(day + DAY_MS).toISOString().slice(0, 10));
  });

  dbTest("caps: the agent's own, else the default, 0 default meaning none", () => {
    expect(effectiveTokenCap(null, 500)).toBe(500);
    expect(effectiveTokenCap(7, 500)).toBe(7);
    expect(effectiveTokenCap(0, 500)).toBe(0);
    expect(effectiveTokenCap(null, 0)).toBeNull();
  });
});

describe("templates", () => {
  const seed = { id: "tpl_1", name: "Research", promptTemplate: "Research {topic}", capability: "research" };

  dbTest("seeds only a fresh database, once", ({ database: { db } }) => {
    expect(seedTemplatesOnFirstRun(db, [seed], T0)).toBe(1);
    expect(seedTemplatesOnFirstRun(db, [seed], T0)).toBe(0);
    deleteTemplate(db, "tpl_1");
    insertTask(db, { task: { id: "t", title: "t", prompt: "p", requiredCapability: "c" }, now: T0 });
    // An operator emptied the table on purpose: it stays empty.
    expect(seedTemplatesOnFirstRun(db, [seed], T0)).toBe(0);
  });

  dbTest("names are unique on insert and update", ({ database: { db } }) => {
    insertTemplate(db, { ...seed, createdAt: T0 });
    insertTemplate(db, { ...seed, id: "tpl_2", name: "Other", createdAt: T0 });
    expect(() => insertTemplate(db, { ...seed, id: "tpl_3", createdAt: T0 })).toThrow(
      expect.objectContaining({ code: "conflict" }),
    );
    expect(() => updateTemplate(db, { id: "tpl_2", set: { name: "Research" }, now: T0 })).toThrow(
      expect.objectContaining({ code: "conflict" }),
    );
    expect(() => updateTemplate(db, { id: "tpl_9", set: { name: "X" }, now: T0 })).toThrow(
      expect.objectContaining({ code: "not_found" }),
    );
  });
});

describe("shared context", () => {
  dbTest("stores any JSON value, null included, lists by prefix", ({ database: { db } }) => {
    putContextEntry(db, { key: "a.one", value: { x: [1, 2] }, setBy: "master", now: T0 });
    putContextEntry(db, { key: "a.two", value: null, setBy: "agent-1", now: T0 });
    putContextEntry(db, { key: "b", value: "s", setBy: "master", now: T0 });
    putContextEntry(db, { key: "a.one", value: 3, setBy: "agent-2", now: T0 + 1 });
    const two = getContextEntry(db, "a.two");
    expect(two && toApiContextEntry(two)).toEqual({
      key: "a.two",
      value: null,
      set_by: "agent-1",
      updated_at: T0,
    });
    expect(listContext(db, { prefix: "a.", limit: 1 })).toMatchObject({
      items: [{ key: "a.one", value: 3, setBy: "agent-2" }],
      nextKey: "a.one",
    });
    expect(listContext(db, { prefix: "a.", afterKey: "a.one", limit: 5 }).items.map((r) => r.key)).toEqual([
      "a.two",
    ]);
    expect(deleteContextEntry(db, "b")).toBe(true);
    expect(deleteContextEntry(db, "b")).toBe(false);
  });
});

describe("outages and approvals", () => {
  dbTest("one open outage per agent", ({ database: { db } }) => {
    expect(openOutage(db, { id: "o1", agentId: "a", startedAt: 10, now: 20 })).toMatchObject({ id: "o1" });
    expect(openOutage(db, { id: "o2", agentId: "a", startedAt: 15, now: 25 })).toBeUndefined();
    expect(closeOutage(db, { agentId: "a", now: 30 })).toBe(true);
    expect(closeOutage(db, { agentId: "a", now: 31 })).toBe(false);
    expect(openOutage(db, { id: "o3", agentId: "a", startedAt: 40, now: 50 })).toMatchObject({ id: "o3" });
    expect(listOutagesOverlapping(db, { from: 31, to: 100 }).map((o) => o.id)).toEqual(["o3"]);
    expect(listOutagesOverlapping(db, { from: 0, to: 35 }).map((o) => [o.id, o.endedAt])).toEqual([
      ["o1", 30],
    ]);
  });

  dbTest("an approval is decided once, and never after it expired", ({ database: { db } }) => {
    seedAgent(db);
    const base = { agentId: "agent-1", taskId: null, action: "deploy", description: "", now: T0 };
    insertApproval(db, { ...base, id: "apr_1", expiresAt: T0 + 100 });
    insertApproval(db, { ...base, id: "apr_2", expiresAt: T0 + 100 });
    const decide = (id: string, now: number) =>
      decideApproval(db, { id, status: "approved", decidedBy: "master", note: null, now });
    expect(decide("apr_1", T0 + 1)).toMatchObject({ status: "approved", decidedBy: "master" });
    expect(decide("apr_1", T0 + 2)).toBeUndefined();
    expect(decide("apr_2", T0 + 100)).toBeUndefined(); // at its expiry: too late
    expect(expireApprovals(db, { now: T0 + 100, limit: 10 }).map((a) => a.id)).toEqual(["apr_2"]);
    expect(expireApprovals(db, { now: T0 + 200, limit: 10 })).toEqual([]);
  });
});
