import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tasks } from "./tasks";

/**
 * Idempotency keys of `POST /api/tasks`: a client that retries a creation (after a timeout,
 * a crash, a hub restart) sends the same key and gets the task made the first time instead
 * of a duplicate. Keys are scoped to the caller, so one caller can neither collide with nor
 * probe another's keys. `request_hash` detects a key reused for a different request (409).
 */
export const taskIdempotency = sqliteTable(
  "task_idempotency",
  {
    /** The principal that created the task (`createdBy` of the task). */
    createdBy: text().notNull(),
    key: text().notNull(),
    taskId: text()
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    /** SHA-256 (hex) of the canonical request without the key. */
    requestHash: text().notNull(),
    createdAt: integer().notNull(),
  },
  (t) => [primaryKey({ columns: [t.createdBy, t.key] })],
);
