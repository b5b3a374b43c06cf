import { sql } from "drizzle-orm";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { EPOCH_MS_NOW } from "./columns";

/** Shared key/value context visible to the whole mesh. `value` is any JSON value. */
export const context = sqliteTable("context", {
  key: text().primaryKey(),
  value: text({ mode: "json" }).$type<unknown>().notNull().default(sql`'null'`),
  /** Who wrote the current value (agent id, user id or `operator`). */
  setBy: text().notNull(),
  updatedAt: integer().notNull().default(EPOCH_MS_NOW),
});
