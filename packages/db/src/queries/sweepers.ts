import { SWEEP_KINDS, type SweeperStatus, type SweepKind } from "@m3shd/protocol";
import { eq, sql } from "drizzle-orm";
import { sweeperRuns } from "../schema";
import type { Executor } from "../types";

export type SweeperRun = typeof sweeperRuns.$inferSelect;

/**
 * A run is claimable once 80% of its interval has passed since the last claim: the dispatcher
 * that ticks first takes it, the others skip, and timer jitter on the claimant never makes it
 * miss its own next tick.
 */
const CLAIM_FRACTION = 0.8;

/**
 * Claims this tick of `kind` for `runner`, atomically (one upsert, conditional on the last claim's
 * age). True when the caller should run the sweep now. Works the same with one dispatcher or
 * several sharing the file, and needs nothing from Redis.
 */
export function claimSweep(
  db: Executor,
  input: { kind: string; runner: string; everyMs: number; now: number },
): boolean {
  const threshold = input.now - Math.floor(input.everyMs * CLAIM_FRACTION);
  const rows = db
    .insert(sweeperRuns)
    .values({ kind: input.kind, claimedAt: input.now, claimedBy: input.runner, everyMs: input.everyMs })
    .onConflictDoUpdate({
      target: sweeperRuns.kind,
      set: { claimedAt: input.now, claimedBy: input.runner, everyMs: input.everyMs },
      setWhere: sql`${sweeperRuns.claimedAt} <= ${threshold}`,
    })
    .returning({ kind: sweeperRuns.kind })
    .all();
  return rows.length === 1;
}

/** Records the end of a claimed run: success stamps `finished_at`, failure keeps the error. */
export function finishSweep(db: Executor, input: { kind: string; now: number; error?: string | null }): void {
  db.update(sweeperRuns)
    .set(input.error ? { lastError: input.error.slice(0, 500) } : { finishedAt: input.now, lastError: null })
    .where(eq(sweeperRuns.kind, input.kind))
    .run();
}

/** Every sweep's record, by kind. */
export function listSweeperRuns(db: Executor): SweeperRun[] {
  return db.select().from(sweeperRuns).orderBy(sweeperRuns.kind).all();
}

/** A sweep is overdue when nothing finished for three intervals (and at least 10 s). */
export function isSweepOverdue(run: Pick<SweeperRun, "finishedAt" | "claimedAt" | "everyMs">, now: number) {
  const last = run.finishedAt ?? run.claimedAt;
  return now - last > Math.max(3 * run.everyMs, 10_000);
}

/**
 * Every sweep's last run as recorded — what `/api/health` and the dispatcher's health report.
 * Read from SQLite, so a hub in another process (split mode) sees what the dispatcher did.
 */
export function readSweeperStatus(db: Executor, now: number): SweeperStatus[] {
  return listSweeperRuns(db)
    .filter((r): r is SweeperRun & { kind: SweepKind } => (SWEEP_KINDS as readonly string[]).includes(r.kind))
    .map((r) => ({
      kind: r.kind,
      last_run_at: r.finishedAt,
      every_ms: r.everyMs,
      overdue: isSweepOverdue(r, now),
      last_error: r.lastError,
    }));
}
