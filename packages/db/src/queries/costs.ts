import { and, asc, gt, gte, lt, lte, sql } from "drizzle-orm";
import { prepared } from "../prepared";
import { costLog } from "../schema";
import type { Executor } from "../types";

export type CostRecord = typeof costLog.$inferSelect;

/** Per-agent token cap per UTC day when neither the agent nor the config sets one. */
export const DEFAULT_DAILY_TOKEN_CAP = 500_000;

export const DAY_MS = 86_400_000;

/** Midnight UTC of the day `ms` falls in. */
export function utcDayStart(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/** `YYYY-MM-DD` (UTC) of `ms`. */
export function utcDayKey(ms: number): string {
  return new Date(utcDayStart(ms)).toISOString().slice(0, 10);
}

/**
 * The cap that applies to an agent: its own (`agents.daily_token_cap`) or the configured default;
 * a configured default of 0 means "no cap" (null), an agent's own 0 means "no work at all".
 */
export function effectiveTokenCap(agentCap: number | null | undefined, defaultCap: number): number | null {
  if (agentCap !== null && agentCap !== undefined) return agentCap;
  return defaultCap > 0 ? defaultCap : null;
}

/** One `cost_log` row (one model call or completion). */
export function insertCostRecord(
  db: Executor,
  input: {
    id: string;
    agentId: string;
    taskId: string | null;
    model: string;
    inputTokens: number;
    outputTokens: number;
    costUsd: number;
    now: number;
  },
): void {
  prepared(db, "costs:insert", () =>
    db
      .insert(costLog)
      .values({
        id: sql.placeholder("id"),
        agentId: sql.placeholder("agentId"),
        taskId: sql.placeholder("taskId"),
        model: sql.placeholder("model"),
        inputTokens: sql.placeholder("inputTokens"),
        outputTokens: sql.placeholder("outputTokens"),
        costUsd: sql.placeholder("costUsd"),
        createdAt: sql.placeholder("now"),
      })
      .prepare(),
  ).run(input);
}

export interface DailyUsage {
  tokens: number;
  costUsd: number;
}

const ZERO: DailyUsage = { tokens: 0, costUsd: 0 };

/**
 * Today's (UTC) tokens and spend per agent, kept current incrementally. `cost_log` is a rowid
 * table and its rows are only appended, so rowids grow in commit order (SQLite has one writer at
 * a time): after one indexed sum at start-up or when the day rolls over, each `refresh` reads only
 * the rows added since the last one. The dispatch pass and the completion path call it, so their
 * cost is O(new rows), never O(today's rows).
 *
 * One tracker per database handle and process; several processes on one file each keep their own
 * and all converge on what the table says.
 *
 * Invariant: the totals only ever hold committed rows. `refresh` runs outside transactions; inside
 * one (the completion recording its cost) use `peek`, which reads the same delta without keeping
 * it. Otherwise a row of a transaction that rolls back would stay counted, the watermark would pass
 * its rowid, and the next committed row — which SQLite gives the same rowid — would be skipped.
 */
export class DailyUsageTracker {
  #day = Number.NaN;
  #watermark = 0;
  #usage = new Map<string, DailyUsage>();

  /** Brings the totals up to date with the table as `db` sees it, for the UTC day of `now`. */
  refresh(db: Executor, now: number): void {
    const dayStart = utcDayStart(now);
    if (dayStart !== this.#day) {
      const top = prepared(db, "costs:maxRowid", () =>
        db
          .select({ top: sql<number | null>`max(${costLog}.rowid)` })
          .from(costLog)
          .prepare(),
      ).get();
      const watermark = top?.top ?? 0;
      const rows = prepared(db, "costs:sumSince", () =>
        db
          .select({
            agentId: costLog.agentId,
            tokens: sql<number>`coalesce(sum(${costLog.inputTokens} + ${costLog.outputTokens}), 0)`,
            costUsd: sql<number>`coalesce(sum(${costLog.costUsd}), 0)`,
          })
          .from(costLog)
          .where(
            and(
              gte(costLog.createdAt, sql.placeholder("from")),
              lte(sql`${costLog}.rowid`, sql.placeholder("top")),
            ),
          )
          .groupBy(costLog.agentId)
          .prepare(),
      ).all({ from: dayStart, top: watermark });
      this.#usage = new Map(rows.map((r) => [r.agentId, { tokens: r.tokens, costUsd: r.costUsd }]));
      this.#day = dayStart;
      this.#watermark = watermark;
      return;
    }
    const next = prepared(db, "costs:after", () =>
      db
        .select({
          rowid: sql<number>`${costLog}.rowid`,
          agentId: costLog.agentId,
          tokens: sql<number>`${costLog.inputTokens} + ${costLog.outputTokens}`,
          costUsd: costLog.costUsd,
          createdAt: costLog.createdAt,
        })
        .from(costLog)
        .where(gt(sql`${costLog}.rowid`, sql.placeholder("after")))
        .orderBy(asc(sql`${costLog}.rowid`))
        .limit(1000)
        .prepare(),
    );
    for (;;) {
      const rows = next.all({ after: this.#watermark });
      for (const row of rows) {
        this.#watermark = row.rowid;
        if (row.createdAt < dayStart || row.createdAt >= dayStart + DAY_MS) continue;
        const current = this.#usage.get(row.agentId) ?? ZERO;
        this.#usage.set(row.agentId, {
          tokens: current.tokens + row.tokens,
          costUsd: current.costUsd + row.costUsd,
        });
      }
      if (rows.length < 1000) break;
    }
  }

  /**
   * The agent's totals for the UTC day of `now` as `db` sees them (inside a transaction: including
   * its uncommitted rows), without changing the tracker: the committed totals plus the rows after
   * the watermark, or one indexed sum on a day the tracker has not loaded.
   */
  peek(db: Executor, agentId: string, now: number): DailyUsage {
    const dayStart = utcDayStart(now);
    const fresh = dayStart !== this.#day;
    const row = prepared(db, "costs:peekAgent", () =>
      db
        .select({
          tokens: sql<number>`coalesce(sum(${costLog.inputTokens} + ${costLog.outputTokens}), 0)`,
          costUsd: sql<number>`coalesce(sum(${costLog.costUsd}), 0)`,
        })
        .from(costLog)
        .where(
          and(
            sql`${costLog.agentId} = ${sql.placeholder("agent")}`,
            gt(sql`${costLog}.rowid`, sql.placeholder("after")),
            gte(costLog.createdAt, sql.placeholder("from")),
            lt(costLog.createdAt, sql.placeholder("to")),
          ),
        )
        .prepare(),
    ).get({ agent: agentId, after: fresh ? 0 : this.#watermark, from: dayStart, to: dayStart + DAY_MS });
    const base = fresh ? ZERO : this.get(agentId);
    return { tokens: base.tokens + (row?.tokens ?? 0), costUsd: base.costUsd + (row?.costUsd ?? 0) };
  }

  /** The agent's totals as of the last `refresh`. */
  get(agentId: string): DailyUsage {
    return this.#usage.get(agentId) ?? ZERO;
  }
}
