import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { EPOCH_MS_NOW } from "./columns";

/** Append-only record of every mutating request. */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: text().primaryKey(),
    /** Who acted: `master`, `agent:<id>`, `user:<id>`, `key:<id>`. */
    actor: text().notNull(),
    /** What they did, e.g. `tasks.create`. */
    action: text().notNull(),
    /** What it was done to, e.g. a task id. */
    target: text(),
    ts: integer().notNull().default(EPOCH_MS_NOW),
    ip: text(),
    /** Hex SHA-256 of the request body (the body itself is not kept). */
    payloadSha256: text(),
  },
  (t) => [index("audit_log_ts_idx").on(t.ts), index("audit_log_actor_ts_idx").on(t.actor, t.ts)],
);
