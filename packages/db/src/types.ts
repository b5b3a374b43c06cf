import type BetterSqlite3 from "better-sqlite3";
import type { RunResult } from "better-sqlite3";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import type { BaseSQLiteDatabase } from "drizzle-orm/sqlite-core";
import type * as schema from "./schema";

export type Schema = typeof schema;

/** The drizzle handle returned by `openDatabase` (`$client` is the better-sqlite3 connection). */
export type Database = BetterSQLite3Database<Schema> & { $client: BetterSqlite3.Database };

/**
 * Anything queries can run on: the database or a transaction inside it. Query functions take this,
 * so a caller can compose several of them in one `db.transaction(...)` (nested ones become savepoints).
 */
export type Executor = BaseSQLiteDatabase<"sync", RunResult, Schema>;
