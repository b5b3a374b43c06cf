import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAgent, insertCostRecord, type OpenedDatabase, openDatabase, upsertAgent } from "@m3shd/db";
import { describe, expect, onTestFinished, test } from "vitest";
import {
  BREAKER_FAILURE_THRESHOLD,
  breakerAdmits,
  claimProbe,
  DEFAULT_LIFECYCLE_SETTINGS,
  dailyUsage,
  effectiveBreaker,
  LifecycleEnvSchema,
  lifecycleSettingsFromEnv,
  recordOutcome,
} from "../src/index";

const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

function freshDb(): OpenedDatabase {
  const dir = mkdtempSync(join(tmpdir(), "m3shd-lifecycle-"));
  const database = openDatabase({ path: join(dir, "m3shd.db") });
  onTestFinished(() => {
    database.close();
    rmSync(dir, { recursive: true, force: true });
  });
  upsertAgent(database.db, { id: "a", name: "a", capabilities: ["echo"], maxConcurrent: 1, now: T0 });
  return database;
}

describe("breaker", () => {
  test("closed → open at the threshold → half-open probe → open again on failure → closed on success", () => {
    const { db } = freshDb();
    const fail = () => recordOutcome(db, { agentId: "a", capability: "echo", success: false, now: T0 });
    for (let i = 1; i < BREAKER_FAILURE_THRESHOLD; i++) expect(fail()).toBeNull();
    expect(fail()).toEqual({ agent_id: "a", from: "closed", to: "open", failures: 3 });
    const open = getAgent(db, "a");
    if (!open) throw new Error("agent vanished");
    const view = { breakerState: open.breakerState, breakerOpenedAt: open.breakerOpenedAt, activeTasks: 0 };
    expect(breakerAdmits(view, T0 + 59_999, 60_000)).toBe(false);
    expect(effectiveBreaker(view, T0 + 60_000, 60_000)).toBe("half_open");
    expect(breakerAdmits({ ...view, activeTasks: 1 }, T0 + 60_000, 60_000)).toBe(false); // one probe only
    // Two dispatchers race for the probe: one wins.
    expect(claimProbe(db, { agentId: "a", failures: 3, now: T0 + 60_000 })).toMatchObject({
      to: "half_open",
    });
    expect(claimProbe(db, { agentId: "a", failures: 3, now: T0 + 60_000 })).toBeNull();
    expect(fail()).toMatchObject({ from: "half_open", to: "open" });
    expect(recordOutcome(db, { agentId: "a", capability: "echo", success: true, now: T0 })).toMatchObject({
      from: "open",
      to: "closed",
    });
  });
});

describe("settings", () => {
  test("the env fragment's defaults are the lifecycle defaults", () => {
    expect(lifecycleSettingsFromEnv(LifecycleEnvSchema.parse({}))).toEqual(DEFAULT_LIFECYCLE_SETTINGS);
    expect(LifecycleEnvSchema.parse({ M3SHD_DAG_FAIL_FAST: " OFF " }).M3SHD_DAG_FAIL_FAST).toBe(false);
    expect(LifecycleEnvSchema.safeParse({ M3SHD_DAG_FAIL_FAST: "maybe" }).success).toBe(false);
  });
});

describe("daily usage", () => {
  test("inside a transaction it peeks; a rollback leaves nothing in memory", () => {
    const database = freshDb();
    const row = (id: string, tokens: number) => ({
      id,
      agentId: "a",
      taskId: null,
      model: "m",
      inputTokens: tokens,
      outputTokens: 0,
      costUsd: 0,
      now: T0,
    });
    insertCostRecord(database.db, row("c1", 10));
    expect(dailyUsage(database, "a", T0).tokens).toBe(10);
    expect(() =>
      database.db.transaction((tx) => {
        insertCostRecord(tx, row("c2", 5));
        expect(dailyUsage(database, "a", T0).tokens).toBe(15);
        throw new Error("roll back");
      }),
    ).toThrow("roll back");
    expect(dailyUsage(database, "a", T0).tokens).toBe(10);
    insertCostRecord(database.db, row("c3", 1)); // takes the rolled-back row's rowid
    expect(dailyUsage(database, "a", T0).tokens).toBe(11);
  });
});
