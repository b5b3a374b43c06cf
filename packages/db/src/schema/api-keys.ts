import type { Permission } from "@m3shd/protocol";
import { sql } from "drizzle-orm";
import { integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { checkAtLeast, createdAt, epochMs } from "./columns";

/**
 * Third-party API keys (`m3shd_key_…`), stored only as hashes, with per-key rate caps. The live
 * counters that enforce the caps live in the rate limiter (Redis or memory); the columns here are
 * the persisted usage totals shown to admins.
 */
export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text().primaryKey(),
    name: text().notNull(),
    keyHash: text().notNull(),
    prefix: text().notNull(),
    permissions: text({ mode: "json" }).$type<Permission[]>().notNull().default(sql`'[]'`),
    /** Requests per minute; NULL = unlimited. */
    perMinute: integer(),
    /** Requests per UTC day; NULL = unlimited. */
    perDay: integer(),
    requestsTotal: integer().notNull().default(0),
    requestsToday: integer().notNull().default(0),
    /** UTC day (`YYYY-MM-DD`) that `requests_today` counts. */
    usageDay: text(),
    lastUsedAt: epochMs(),
    createdBy: text(),
    createdAt: createdAt(),
    revokedAt: epochMs(),
  },
  (t) => [
    uniqueIndex("api_keys_key_hash_unique").on(t.keyHash),
    checkAtLeast("api_keys_per_minute_check", t.perMinute, 1),
    checkAtLeast("api_keys_per_day_check", t.perDay, 1),
  ],
);
