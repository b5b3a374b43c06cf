import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  closeOutage,
  DAY_MS,
  getApproval,
  getTask,
  insertApproval,
  insertCostRecord,
  insertTask,
  openDatabase,
  transitionTask,
  upsertAgent,
} from "@m3shd/db";
import { type JobPayload, type MeshEvent, newId } from "@m3shd/protocol";
import { createQueueRuntime } from "@m3shd/queue";
import { pino } from "pino";
import { test as base, describe, expect } from "vitest";
import { runDispatchPass } from "./assign";
import { DEFAULT_DISPATCHER_CONFIG, type DispatcherContext } from "./context";
import { reclaimTask, sweepHeartbeats } from "./sweepers";
import { sweepApprovals } from "./workflows";

const T0 = Date.UTC(2026, 10, 25, 23, 0, 0); // one hour before midnight UTC
type Ctx = DispatcherContext & {
  clock: { now: number };
  events: MeshEvent[];
  alerts: JobPayload<"alerts.send">[];
};

const test = base.extend<{ ctx: Ctx }>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest fixtures must destructure their context
  ctx: async ({}, use) => {
    const dir = mkdtempSync(join(tmpdir(), "m3shd-disp-wf-"));
    const database = openDatabase({ path: join(dir, "d.db") });
    const queue = await createQueueRuntime();
    const clock = { now: T0 };
    const events: MeshEvent[] = [];
    const alerts: JobPayload<"alerts.send">[] = [];
    queue.bus.subscribe((e) => events.push(e as MeshEvent));
    queue.jobs.consume("alerts.send", async (alert) => void alerts.push(alert));
    await use({
      database,
      queue,
      logger: pino({ level: "silent" }),
      now: () => clock.now,
      config: { ...DEFAULT_DISPATCHER_CONFIG, offlineAfterMs: 30_000, dailyTokenCap: 1000 },
      clock,
      events,
      alerts,
    });
    await queue.close();
    database.close();
    rmSync(dir, { recursive: true, force: true });
  },
});

const until = async (fn: () => boolean) => {
  for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setTimeout(r, 5));
  return fn();
};

function addTask(ctx: Ctx, over: Record<string, unknown> = {}, dependsOn: string[] = []) {
  return insertTask(ctx.database.db, {
    task: { id: newId("task"), title: "t", prompt: "p", requiredCapability: "code", ...over },
    dependsOn,
    now: ctx.now(),
  });
}

function spend(ctx: Ctx, agentId: string, tokens: number) {
  insertCostRecord(ctx.database.db, {
    id: newId("cost"),
    agentId,
    taskId: null,
    model: "m",
    inputTokens: tokens,
    outputTokens: 0,
    costUsd: 0,
    now: ctx.now(),
  });
}

describe("daily token caps at dispatch", () => {
  test("an agent over its cap gets no work until the UTC day rolls over", async ({ ctx }) => {
    const db = ctx.database.db;
    for (const id of ["capped", "spare"]) {
      upsertAgent(db, { id, name: id, capabilities: ["code"], maxConcurrent: 4, now: T0 });
      await ctx.queue.liveness.touch(id, T0);
    }
    // "capped" has its own, lower cap and has used it up; "spare" is under the default.
    upsertAgent(db, {
      id: "capped",
      name: "capped",
      capabilities: ["code"],
      maxConcurrent: 4,
      dailyTokenCap: 500,
      now: T0,
    });
    spend(ctx, "capped", 500);
    spend(ctx, "spare", 999);
    const pinned = addTask(ctx, { assignTo: "capped" });
    expect(await runDispatchPass(ctx)).toEqual({ considered: 1, assigned: 1 });
    expect(getTask(db, pinned.id)?.assignedTo).toBe("spare"); // assign_to is not honoured over the cap
    spend(ctx, "spare", 1); // now at the default cap of 1000
    const waiting = addTask(ctx);
    expect((await runDispatchPass(ctx)).assigned).toBe(0);
    expect(getTask(db, waiting.id)?.status).toBe("queued");

    ctx.clock.now = T0 + 2 * 3_600_000; // 01:00 UTC the next day
    for (const id of ["capped", "spare"]) await ctx.queue.liveness.touch(id, ctx.now());
    expect((await runDispatchPass(ctx)).assigned).toBe(1);
    expect(getTask(db, waiting.id)?.status).toBe("assigned");
    expect(ctx.now() - T0).toBeLessThan(DAY_MS);
  });
});

describe("sweeps", () => {
  test("agent down: one outage and one alert per outage", async ({ ctx }) => {
    const db = ctx.database.db;
    upsertAgent(db, { id: "gone", name: "gone", capabilities: ["code"], maxConcurrent: 1, now: T0 });
    await ctx.queue.liveness.touch("gone", T0);
    ctx.clock.now = T0 + 31_000;
    expect(await sweepHeartbeats(ctx)).toEqual(["gone"]);
    expect(await sweepHeartbeats(ctx)).toEqual([]);
    expect(await until(() => ctx.alerts.length === 1)).toBe(true);
    expect(ctx.alerts[0]).toMatchObject({ kind: "agent_down", title: "Agent gone is down" });
    // It comes back (the hub closes the outage) and dies again: a second outage, a second alert.
    closeOutage(db, { agentId: "gone", now: ctx.now() });
    upsertAgent(db, { id: "gone", name: "gone", capabilities: ["code"], maxConcurrent: 1, now: ctx.now() });
    await ctx.queue.liveness.touch("gone", ctx.now());
    ctx.clock.now += 31_000;
    expect(await sweepHeartbeats(ctx)).toEqual(["gone"]);
    expect(await until(() => ctx.alerts.length === 2)).toBe(true);
    expect(new Set(ctx.alerts.map((a) => a.dedupeKey)).size).toBe(2);
  });

  test("a task that fails for good in a sweep cancels its dependents and alerts once", async ({ ctx }) => {
    const db = ctx.database.db;
    upsertAgent(db, { id: "w", name: "w", capabilities: ["code"], maxConcurrent: 1, now: T0 });
    const parent = addTask(ctx, { maxAttempts: 1 });
    const child = addTask(ctx, {}, [parent.id]);
    const grandchild = addTask(ctx, {}, [child.id]);
    transitionTask(db, { id: parent.id, from: "queued", to: "assigned", set: { assignedTo: "w" }, now: T0 });
    // Assigned only: reclaiming it costs nothing, so it is requeued rather than failed.
    const assigned = getTask(db, parent.id);
    if (!assigned) throw new Error("no task");
    expect(await reclaimTask(ctx, assigned, "pickup_timeout")).toBe(true);
    expect(getTask(db, parent.id)).toMatchObject({ status: "queued", attempts: 0 });
    transitionTask(db, { id: parent.id, from: "queued", to: "assigned", set: { assignedTo: "w" }, now: T0 });
    transitionTask(db, {
      id: parent.id,
      from: "assigned",
      to: "running",
      set: { attempts: 1, attempt: 1 },
      now: T0,
    });
    const row = getTask(db, parent.id);
    if (!row) throw new Error("no task");
    // Started once with one attempt allowed: that was its last.
    expect(await reclaimTask(ctx, row, "zombie")).toBe(false);
    expect(getTask(db, parent.id)?.status).toBe("failed");
    for (const id of [child.id, grandchild.id]) {
      expect(getTask(db, id)).toMatchObject({
        status: "cancelled",
        cancelReason: `dependency ${parent.id} failed`,
      });
    }
    const cancelled = ctx.events.filter((e) => e.type === "task_cancelled");
    expect(cancelled.map((e) => (e.data as { cause_task_id: string }).cause_task_id)).toEqual([
      parent.id,
      parent.id,
    ]);
    expect(await until(() => ctx.alerts.length === 1)).toBe(true);
    expect(ctx.alerts[0]).toMatchObject({ kind: "task_failed", dedupeKey: `task_failed-${parent.id}` });
  });

  test("pending approvals past their expiry expire, each announced", async ({ ctx }) => {
    const db = ctx.database.db;
    upsertAgent(db, { id: "asker", name: "a", capabilities: ["code"], maxConcurrent: 1, now: T0 });
    const base = { agentId: "asker", taskId: null, action: "deploy", description: "", now: T0 };
    insertApproval(db, { ...base, id: newId("apr"), expiresAt: T0 + 1000 });
    const later = insertApproval(db, { ...base, id: newId("apr"), expiresAt: T0 + 5000 });
    ctx.clock.now = T0 + 1000;
    expect(await sweepApprovals(ctx)).toBe(1);
    expect(await sweepApprovals(ctx)).toBe(0);
    expect(getApproval(db, later.id)?.status).toBe("pending");
    expect(ctx.events.filter((e) => e.type === "approval_expired")).toHaveLength(1);
  });
});
