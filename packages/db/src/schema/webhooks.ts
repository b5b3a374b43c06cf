import { sql } from "drizzle-orm";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { epochMs, timestamps } from "./columns";

/** Outgoing webhooks: mesh events POSTed to `url`, signed with the webhook's secret. */
export const webhooks = sqliteTable("webhooks", {
  id: text().primaryKey(),
  url: text().notNull(),
  /** Signing secret; the hub stores it encrypted (it must be readable to sign, so it cannot be a hash). */
  secret: text().notNull(),
  /** Event types delivered; an empty array means all. */
  events: text({ mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
  description: text().notNull().default(""),
  disabledAt: epochMs(),
  lastDeliveryAt: epochMs(),
  /** HTTP status of the last delivery attempt (0 for a network error). */
  lastStatus: integer(),
  consecutiveFailures: integer().notNull().default(0),
  createdBy: text(),
  ...timestamps(),
});
