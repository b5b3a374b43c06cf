import type { ContextEntry } from "@m3shd/protocol";
import { and, asc, eq, gt, gte, lt, type SQL, sql } from "drizzle-orm";
import { context } from "../schema";
import type { Executor } from "../types";

export type ContextRow = typeof context.$inferSelect;

/** A context row as the API returns it. */
export function toApiContextEntry(row: ContextRow): ContextEntry {
  return {
    key: row.key,
    value: row.value as ContextEntry["value"],
    set_by: row.setBy,
    updated_at: row.updatedAt,
  };
}

export function getContextEntry(db: Executor, key: string): ContextRow | undefined {
  return db.select().from(context).where(eq(context.key, key)).get();
}

/** Keys in ascending order, after `afterKey`, optionally only those starting with `prefix`. */
export function listContext(
  db: Executor,
  input: { prefix?: string; afterKey?: string; limit: number },
): { items: ContextRow[]; nextKey: string | null } {
  const conditions: SQL[] = [];
  if (input.prefix) {
    // Keys use only characters below U+007F, so [prefix, prefix + U+007F) is exactly the prefix range.
    conditions.push(gte(context.key, input.prefix), lt(context.key, `${input.prefix}\u007f`));
  }
  if (input.afterKey !== undefined) conditions.push(gt(context.key, input.afterKey));
  const rows = db
    .select()
    .from(context)
    .where(and(...conditions))
    .orderBy(asc(context.key))
    .limit(input.limit + 1)
    .all();
  const items = rows.slice(0, input.limit);
  return { items, nextKey: rows.length > input.limit ? (items.at(-1)?.key ?? null) : null };
}

/** Sets a key (insert or replace) and records who set it. */
export function putContextEntry(
  db: Executor,
  input: { key: string; value: unknown; setBy: string; now: number },
): ContextRow {
  // Drizzle binds a JS null as SQL NULL; the JSON value null is the text 'null'.
  const value = input.value === null ? sql`'null'` : input.value;
  return db
    .insert(context)
    .values({ key: input.key, value, setBy: input.setBy, updatedAt: input.now })
    .onConflictDoUpdate({
      target: context.key,
      set: { value, setBy: input.setBy, updatedAt: input.now },
    })
    .returning()
    .get();
}

/** Deletes a key; false when it was not set. */
export function deleteContextEntry(db: Executor, key: string): boolean {
  return db.delete(context).where(eq(context.key, key)).run().changes > 0;
}
