import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { claimSweep, finishSweep } from "@m3shd/db";
import { SWEEP_KINDS, type SweepKind } from "@m3shd/protocol";
import type { DispatcherContext } from "./context";

/** The interval of each sweep under this config. */
export function sweepIntervals(ctx: DispatcherContext): Record<SweepKind, number> {
  const every = ctx.config.sweepEveryMs;
  return {
    heartbeats: every.heartbeats,
    zombies: every.zombies,
    deadlines: every.deadlines,
    reconcile: every.reconcile,
    approvals: every.approvals ?? 5_000,
    pickups: every.pickups ?? Math.max(250, Math.floor(ctx.config.pickupTimeoutMs / 5)),
  };
}

/**
 * Drives the sweeps from local timers, each tick claimed in SQLite so one dispatcher runs it
 * (docs/adr/0007-sweeps-on-local-timers.md). Nothing about the schedule lives in Redis: a
 * FLUSHALL, a failover or an evicting Redis cannot turn a sweep off, and every dispatcher that is
 * alive keeps every sweep alive.
 *
 * The claim and the record use the wall clock, not `ctx.now()`: the timers that tick are real, so
 * the clock that spaces and judges them must be too (a test's frozen clock would otherwise stop
 * every claim).
 */
export function startSweepSchedule(
  ctx: DispatcherContext,
  run: (kind: SweepKind) => Promise<void>,
): { stop(): Promise<void> } {
  const runner = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  const intervals = sweepIntervals(ctx);
  const timers: NodeJS.Timeout[] = [];
  const inFlight = new Map<SweepKind, Promise<void>>();
  let stopped = false;

  const tick = (kind: SweepKind) => {
    if (stopped || inFlight.has(kind)) return; // a slow run is not stacked on itself
    const everyMs = intervals[kind];
    let claimed: boolean;
    try {
      claimed = claimSweep(ctx.database.db, { kind, runner, everyMs, now: Date.now() });
    } catch (err) {
      ctx.logger.error({ err, kind }, "sweep claim failed");
      return;
    }
    if (!claimed) return;
    const p = run(kind)
      .then(
        () => finishSweep(ctx.database.db, { kind, now: Date.now() }),
        (err: unknown) => {
          ctx.logger.error({ err, kind }, "sweep failed");
          finishSweep(ctx.database.db, {
            kind,
            now: Date.now(),
            error: String((err as Error)?.message ?? err),
          });
        },
      )
      .catch((err: unknown) => ctx.logger.error({ err, kind }, "sweep bookkeeping failed"))
      .finally(() => inFlight.delete(kind));
    inFlight.set(kind, p);
  };

  for (const kind of SWEEP_KINDS) {
    timers.push(setInterval(() => tick(kind), intervals[kind]));
  }
  return {
    async stop() {
      stopped = true;
      for (const t of timers) clearInterval(t);
      await Promise.allSettled(inFlight.values());
    },
  };
}
