import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAgent, getTask, insertTask, openDatabase, transitionTask, upsertAgent } from "@m3shd/db";
import { type MeshEvent, newId } from "@m3shd/protocol";
import { createQueueRuntime } from "@m3shd/queue";
import { pino } from "pino";
import { test as base, describe, expect } from "vitest";
import { DEFAULT_DISPATCHER_CONFIG, type DispatcherContext } from "./context";
import { sweepDeadlines, sweepHeartbeats, sweepPickups, sweepZombies, urgencyFor } from "./sweepers";

const T0 = Date.UTC(2026, 10, 25, 9, 0, 0);
const test = base.extend<{ ctx: DispatcherContext & { clock: { now: number }; events: MeshEvent[] } }>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest fixtures must destructure their context
  ctx: async ({}, use) => {
    const dir = mkdtempSync(join(tmpdir(), "m3shd-disp-"));
    const database = openDatabase({ path: join(dir, "d.db") });
    const queue = await createQueueRuntime();
    const clock = { now: T0 };
    const events: MeshEvent[] = [];
    queue.bus.subscribe((e) => events.push(e as MeshEvent));
    await use({
      database,
      queue,
      logger: pino({ level: "silent" }),
      now: () => clock.now,
      config: { ...DEFAULT_DISPATCHER_CONFIG, offlineAfterMs: 30_000, zombieAfterMs: 600_000 },
      clock,
      events,
    });
    await queue.close();
    database.close();
    rmSync(dir, { recursive: true, force: true });
  },
});

function addTask(ctx: DispatcherContext, over: Record<string, unknown> = {}) {
  return insertTask(ctx.database.db, {
    task: { id: newId("task"), title: "t", prompt: "p", requiredCapability: "code", ...over },
    now: ctx.now(),
  });
}

describe("urgencyFor", () => {
  test("follows the fraction of time left", () => {
    const task = { createdAt: 0, deadline: 1000 };
    expect(urgencyFor(task, 0)).toBe("low");
    expect(urgencyFor(task, 499)).toBe("low");
    expect(urgencyFor(task, 500)).toBe("medium");
    expect(urgencyFor(task, 750)).toBe("high");
    expect(urgencyFor(task, 1000)).toBe("critical");
    expect(urgencyFor({ createdAt: 0, deadline: null }, 5000)).toBe("low");
  });
});

describe("sweepers", () => {
  test("deadlines escalate urgency and priority step by step, never down", async ({ ctx }) => {
    const task = addTask(ctx, { deadline: T0 + 4 * 60 * 60_000, priority: 5 });
    const check = async (offsetMin: number, urgency: string, priority: number) => {
      ctx.clock.now = T0 + offsetMin * 60_000;
      await sweepDeadlines(ctx);
      expect(getTask(ctx.database.db, task.id)).toMatchObject({ urgency, priority });
    };
    await check(60, "low", 5);
    await check(120, "medium", 6);
    await check(180, "high", 7);
    await check(239, "high", 7);
    await check(240, "critical", 8);
    await check(500, "critical", 8);
    const changes = ctx.events
      .filter((e) => e.type === "task_urgency_changed")
      .map((e) => (e.data as { to: string }).to);
    expect(changes).toEqual(["medium", "high", "critical"]);
  });

  test("a task not picked up within the pickup timeout is requeued at no attempt's cost", async ({ ctx }) => {
    const db = ctx.database.db;
    upsertAgent(db, { id: "slow", name: "slow", capabilities: ["code"], maxConcurrent: 2, now: T0 });
    const unclaimed = addTask(ctx);
    const started = addTask(ctx);
    for (const t of [unclaimed, started])
      transitionTask(db, { id: t.id, from: "queued", to: "assigned", set: { assignedTo: "slow" }, now: T0 });
    transitionTask(db, {
      id: started.id,
      from: "assigned",
      to: "running",
      set: { attempts: 1, attempt: 1 },
      now: T0,
    });
    ctx.clock.now = T0 + ctx.config.pickupTimeoutMs; // not past it yet
    expect(await sweepPickups(ctx)).toEqual([]);
    ctx.clock.now = T0 + ctx.config.pickupTimeoutMs + 1;
    expect(await sweepPickups(ctx)).toEqual([unclaimed.id]);
    expect(getTask(db, unclaimed.id)).toMatchObject({ status: "queued", attempts: 0, assignedTo: null });
    // A running task is the zombie sweep's business, not this one's.
    expect(getTask(db, started.id)).toMatchObject({ status: "running", assignedTo: "slow" });
    const requeued = ctx.events.find((e) => e.type === "task_requeued");
    expect(requeued?.data).toMatchObject({ task_id: unclaimed.id, reason: "pickup_timeout", attempts: 0 });
    // It is not polling: no more work for it until it polls again.
    expect(getAgent(db, "slow")?.pollLostAt).toBe(T0 + ctx.config.pickupTimeoutMs + 1);
  });

  test("an agent silent past the timeout goes offline and its tasks are requeued", async ({ ctx }) => {
    const db = ctx.database.db;
    upsertAgent(db, { id: "gone", name: "gone", capabilities: ["code"], maxConcurrent: 2, now: T0 });
    await ctx.queue.liveness.touch("gone", T0);
    const running = addTask(ctx);
    const assigned = addTask(ctx);
    transitionTask(db, {
      id: running.id,
      from: "queued",
      to: "assigned",
      set: { assignedTo: "gone" },
      now: T0,
    });
    transitionTask(db, { id: running.id, from: "assigned", to: "running", set: { attempts: 1 }, now: T0 });
    transitionTask(db, {
      id: assigned.id,
      from: "queued",
      to: "assigned",
      set: { assignedTo: "gone" },
      now: T0,
    });
    ctx.clock.now = T0 + 29_000;
    expect(await sweepHeartbeats(ctx)).toEqual([]);
    ctx.clock.now = T0 + 31_000;
    expect(await sweepHeartbeats(ctx)).toEqual(["gone"]);
    expect(getTask(db, running.id)).toMatchObject({ status: "queued", attempts: 1, assignedTo: null });
    // Never picked up: it goes back at no attempt's cost (attempts count pickups only).
    expect(getTask(db, assigned.id)).toMatchObject({ status: "queued", attempts: 0 });
    const offline = ctx.events.find((e) => e.type === "agent_offline");
    if (offline?.type !== "agent_offline") throw new Error("no agent_offline event");
    expect([...offline.data.requeued_task_ids].sort()).toEqual([running.id, assigned.id].sort());
    expect(await sweepHeartbeats(ctx)).toEqual([]); // already offline: nothing twice
  });

  test("after a restart, an agent gets a full timeout to be heard from before it is declared offline", async ({
    ctx,
  }) => {
    const db = ctx.database.db;
    // Registered long ago; the in-memory liveness of the previous process is gone.
    upsertAgent(db, {
      id: "survivor",
      name: "survivor",
      capabilities: ["code"],
      maxConcurrent: 1,
      now: T0 - 3_600_000,
    });
    const startedAt = T0;
    ctx.clock.now = T0 + 29_000;
    expect(await sweepHeartbeats(ctx, startedAt)).toEqual([]);
    ctx.clock.now = T0 + 31_000;
    expect(await sweepHeartbeats(ctx, startedAt)).toEqual(["survivor"]);
  });

  test("zombies are requeued, and failed once attempts run out", async ({ ctx }) => {
    const db = ctx.database.db;
    upsertAgent(db, { id: "slow", name: "slow", capabilities: ["code"], maxConcurrent: 2, now: T0 });
    const retry = addTask(ctx, { maxAttempts: 3 });
    const last = addTask(ctx, { maxAttempts: 1 });
    for (const t of [retry, last]) {
      transitionTask(db, { id: t.id, from: "queued", to: "assigned", set: { assignedTo: "slow" }, now: T0 });
      transitionTask(db, { id: t.id, from: "assigned", to: "running", set: { attempts: 1 }, now: T0 });
    }
    ctx.clock.now = T0 + 599_000;
    expect(await sweepZombies(ctx)).toEqual([]);
    ctx.clock.now = T0 + 601_000;
    expect((await sweepZombies(ctx)).sort()).toEqual([retry.id, last.id].sort());
    expect(getTask(db, retry.id)).toMatchObject({ status: "queued", attempts: 1 });
    expect(getTask(db, last.id)).toMatchObject({ status: "failed" });
    expect(getTask(db, last.id)?.error).toContain("zombie");
  });
});
