import { nextQueuedTasks, readSweeperStatus } from "@m3shd/db";
import type { SweeperStatus, SweepKind } from "@m3shd/protocol";
import { Counter, Histogram, LATENCY_BUCKETS, type Registry } from "@m3shd/service-kit";
import { type PassResult, runDispatchPass } from "./assign";
import type { DispatcherContext } from "./context";
import { startSweepSchedule } from "./sweep-schedule";
import { sweepDeadlines, sweepHeartbeats, sweepPickups, sweepZombies } from "./sweepers";
import { sweepApprovals } from "./workflows";

/** Events after which capacity may have appeared: each triggers a dispatch pass. */
const CAPACITY_EVENTS: ReadonlySet<string> = new Set([
  "agent_online",
  "task_completed",
  "task_failed",
  "task_cancelled",
  "task_handoff",
  "agent_breaker",
]);

export interface Dispatcher {
  /** Consume jobs, schedule sweeps, listen for capacity events, reconcile once. */
  start(): Promise<void>;
  /** Stop reacting (the queue runtime is closed by its owner). */
  stop(): Promise<void>;
  /** Request a pass; resolves when a pass that started after this call has finished. */
  requestPass(): Promise<PassResult>;
  sweep(kind: SweepKind): Promise<void>;
  stats(): { passes: number; assigned: number };
  /** Each sweep's last run (from the database) and whether any is overdue. */
  health(): { status: "ok" | "degraded"; sweepers: SweeperStatus[] };
}

/**
 * The dispatcher. Work arrives as `dispatch.assign` jobs, but each job only *requests* a pass:
 * passes are coalesced (one running, at most one more pending), so a burst of a thousand jobs costs
 * a handful of passes that each assign everything assignable. Jobs carry no state, every pass
 * re-reads SQLite, and the reconcile sweep re-runs the pass on a timer — a lost job, a flushed
 * Redis or a missed event delays work, never loses it.
 */
export function createDispatcher(ctx: DispatcherContext): Dispatcher {
  let running: Promise<PassResult> | null = null;
  let stopped = false;
  let unsubscribe: (() => void) | null = null;
  let schedule: { stop(): Promise<void> } | null = null;
  const startedAt = ctx.now();
  let passes = 0;
  let assignedTotal = 0;

  const metrics = ctx.metrics ? dispatchMetrics(ctx.metrics) : null;

  const pass = async (): Promise<PassResult> => {
    passes++;
    const started = performance.now();
    const result = await runDispatchPass(
      ctx,
      metrics ? (ms) => metrics.latency.observe(ms / 1000) : undefined,
    );
    assignedTotal += result.assigned;
    if (metrics) {
      metrics.passes.observe((performance.now() - started) / 1000);
      metrics.assignments.inc(result.assigned);
    }
    // A full batch that assigned work means more may be waiting behind it.
    if (result.considered >= ctx.config.batchSize && result.assigned > 0)
      void requestPass().catch(logPassError);
    return result;
  };

  /**
   * Passes are coalesced: a request while none is scheduled schedules one for the next turn of the
   * event loop (`setImmediate`), so every trigger that arrives in the same turn — a burst of jobs,
   * completions, registrations — shares one pass. A request while a pass runs schedules exactly
   * one more after it, so no trigger is ever lost.
   */
  let scheduled: Promise<PassResult> | null = null;
  function requestPass(): Promise<PassResult> {
    if (stopped) return Promise.resolve({ considered: 0, assigned: 0 });
    if (scheduled) return scheduled;
    const after = running ?? Promise.resolve();
    scheduled = after
      .catch(() => undefined)
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => {
        scheduled = null;
        running = pass().finally(() => {
          running = null;
        });
        return running;
      });
    return scheduled;
  }

  async function sweep(kind: SweepKind): Promise<void> {
    switch (kind) {
      case "heartbeats":
        await sweepHeartbeats(ctx, startedAt);
        break;
      case "zombies":
        await sweepZombies(ctx);
        break;
      case "deadlines":
        await sweepDeadlines(ctx);
        break;
      case "reconcile":
        await reconcile();
        break;
      case "approvals":
        await sweepApprovals(ctx);
        break;
      case "pickups":
        await sweepPickups(ctx);
        break;
    }
  }

  /**
   * Queued rows whose dispatch job is gone (flushed Redis, crash between insert and enqueue) get
   * it back; then one pass runs regardless.
   */
  async function reconcile(): Promise<void> {
    const queued = nextQueuedTasks(ctx.database.db, { limit: ctx.config.batchSize });
    const missing: { taskId: string }[] = [];
    for (const task of queued) {
      if (!(await ctx.queue.jobs.isPending("dispatch.assign", { taskId: task.id })))
        missing.push({ taskId: task.id });
    }
    if (missing.length > 0) {
      ctx.logger.info({ count: missing.length }, "reconcile: re-enqueued queued tasks without a job");
      await ctx.queue.jobs.enqueueMany("dispatch.assign", missing);
    }
    await requestPass();
  }

  return {
    async start() {
      const { jobs, bus } = ctx.queue;
      jobs.consume("dispatch.assign", async () => void (await requestPass()), {
        concurrency: ctx.config.concurrency,
      });
      // Still consumed: a `dispatch.sweep` job asks for one sweep now (and schedulers left in
      // Redis by an older version drain harmlessly). The schedule itself runs on local timers
      // claimed in SQLite, so no Redis state can switch it off (ADR 0007).
      jobs.consume("dispatch.sweep", async ({ kind }) => sweep(kind), { concurrency: 1 });
      schedule = startSweepSchedule(ctx, sweep);
      unsubscribe = bus.subscribe((event) => {
        const type = (event as { type?: unknown }).type;
        if (typeof type === "string" && CAPACITY_EVENTS.has(type)) void requestPass().catch(logPassError);
      });
      await reconcile();
    },
    async stop() {
      stopped = true;
      unsubscribe?.();
      await schedule?.stop();
      await running?.catch(() => undefined);
    },
    requestPass,
    sweep,
    stats: () => ({ passes, assigned: assignedTotal }),
    health() {
      const sweepers = readSweeperStatus(ctx.database.db, Date.now());
      return { status: sweepers.some((s) => s.overdue) ? "degraded" : "ok", sweepers };
    },
  };

  function logPassError(err: unknown) {
    ctx.logger.error({ err }, "dispatch pass failed");
  }
}

/** The dispatcher's own metrics; queue depths and job latency are registered by its process. */
function dispatchMetrics(registry: Registry) {
  return {
    latency: new Histogram({
      name: "m3shd_dispatch_latency_seconds",
      help: "How long a task waited queued before this dispatcher assigned it",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    passes: new Histogram({
      name: "m3shd_dispatch_pass_duration_seconds",
      help: "Run time of one dispatch pass (read the fleet and the queue, assign, commit, publish)",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    assignments: new Counter({
      name: "m3shd_dispatch_assignments_total",
      help: "Tasks this dispatcher assigned",
      registers: [registry],
    }),
  };
}
