import { type SQL, sql } from "drizzle-orm";
import { toSnakeCase } from "drizzle-orm/casing";
import { type CheckBuilder, check, integer, type SQLiteColumn } from "drizzle-orm/sqlite-core";

/**
 * Shared column definitions. Every timestamp in the database is an INTEGER holding epoch
 * milliseconds (UTC); code passes `now` explicitly so tests can inject a clock, and SQLite fills
 * in the current time only when a writer leaves the column out.
 */

/** SQL expression for "now" in epoch milliseconds (needs SQLite ≥ 3.42 for 'subsec'; better-sqlite3 12 bundles 3.49+). */
export const EPOCH_MS_NOW: SQL = sql`(cast(unixepoch('subsec') * 1000 as integer))`;

/** A nullable epoch-milliseconds column. */
export const epochMs = () => integer();

/** `created_at`, defaulting to the insert time. */
export const createdAt = () => integer().notNull().default(EPOCH_MS_NOW);

/** `created_at` + `updated_at`, both defaulting to the insert time. Writers must bump `updated_at`. */
export const timestamps = () => ({
  createdAt: createdAt(),
  updatedAt: integer().notNull().default(EPOCH_MS_NOW),
});

/**
 * The unqualified SQL name of a column (snake_case unless it was named explicitly). CHECKs and
 * partial-index predicates use it instead of `${column}`, which drizzle renders as
 * `"table"."column"`: that breaks when drizzle-kit recreates a table as `__new_<table>`.
 */
export function columnRef(column: SQLiteColumn): SQL {
  return sql`${sql.identifier(column.keyAsName ? toSnakeCase(column.name) : column.name)}`;
}

// The values come from the constant arrays in @m3shd/protocol, never from input; the pattern keeps
// it that way, since a CHECK constraint cannot take bound parameters and must hold literals.
const SAFE_ENUM_VALUE = /^[a-z0-9_:.-]+$/;

/** `CHECK (column IN ('a', 'b', …))` built from one of the protocol's enum arrays. NULL passes (SQL semantics). */
export function checkIn(name: string, column: SQLiteColumn, values: readonly string[]): CheckBuilder {
  if (values.length === 0) throw new Error(`checkIn(${name}): empty value list`);
  for (const value of values) {
    if (!SAFE_ENUM_VALUE.test(value)) throw new Error(`checkIn(${name}): unsafe enum literal ${value}`);
  }
  const list = values.map((value) => `'${value}'`).join(", ");
  return check(name, sql`${columnRef(column)} IN (${sql.raw(list)})`);
}

/** `CHECK (column BETWEEN min AND max)`. */
export function checkBetween(name: string, column: SQLiteColumn, min: number, max: number): CheckBuilder {
  if (!Number.isFinite(min) || !Number.isFinite(max))
    throw new Error(`checkBetween(${name}): bounds must be finite`);
  return check(name, sql`${columnRef(column)} BETWEEN ${sql.raw(String(min))} AND ${sql.raw(String(max))}`);
}

/** `CHECK (column >= min)`. */
export function checkAtLeast(name: string, column: SQLiteColumn, min: number): CheckBuilder {
  if (!Number.isFinite(min)) throw new Error(`checkAtLeast(${name}): bound must be finite`);
  return check(name, sql`${columnRef(column)} >= ${sql.raw(String(min))}`);
}
