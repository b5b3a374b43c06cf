import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * One row per dispatcher sweep (`heartbeats`, `zombies`, …): the claim that makes exactly one
 * dispatcher run each tick, and the record health reads. It lives in SQLite, not Redis, so a
 * FLUSHALL can neither stop the sweeps nor hide that they stopped (docs/adr/0007).
 */
export const sweeperRuns = sqliteTable("sweeper_runs", {
  kind: text().primaryKey(),
  /** When the current or last run was claimed (epoch ms). */
  claimedAt: integer().notNull(),
  /** Who claimed it (`<host>:<pid>:<random>` of a dispatcher). */
  claimedBy: text().notNull(),
  /** When the last run finished successfully; NULL until one has. */
  finishedAt: integer(),
  /** The interval the runner schedules this sweep at; health calls it overdue past a multiple. */
  everyMs: integer().notNull(),
  /** The last run's error message, cleared by a success. */
  lastError: text(),
});

/**
 * Fixed-window counters for the embedded mode (no Redis), in the layout `rate-limiter-flexible`'s
 * SQLite store expects, so login throttling survives a hub restart.
 */
export const rateLimits = sqliteTable("rate_limits", {
  key: text().primaryKey(),
  points: integer().notNull().default(0),
  expire: integer(),
});
