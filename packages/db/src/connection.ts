import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { migrateDatabase } from "./migrate";
import * as schema from "./schema";
import type { Database } from "./types";

export interface OpenDatabaseOptions {
  /** File path, or `:memory:` for a private in-memory database. */
  path: string;
  /** Open read-only (the file must exist; no pragmas that write, no migrations). Default false. */
  readonly?: boolean;
  /** Apply pending migrations before returning. Default true (false when `readonly`). */
  migrate?: boolean;
  /** How long a writer waits for a lock held by another connection, in ms. Default 5000. */
  busyTimeoutMs?: number;
  /** Override the migrations folder (tests of the migrator). */
  migrationsFolder?: string;
}

export interface OpenedDatabase {
  /** Drizzle, with the full schema and snake_case column mapping. */
  db: Database;
  /** The underlying better-sqlite3 handle (pragmas, raw statements, backups). */
  sqlite: BetterSqlite3.Database;
  /** Close the connection. Safe to call twice. */
  close(): void;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * The database holds token hashes, sealed secrets and every prompt: a directory we create is 0700
 * and the file 0600 before SQLite opens it. SQLite creates `-wal` and `-shm` with the main file's
 * mode, so they inherit 0600; files left 0644 by an older version are tightened here too.
 */
function prepareDatabaseFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (!existsSync(path)) closeSync(openSync(path, "a", 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    } catch (err) {
      // Absent (no WAL yet) or not ours to change (a file shared read-only): SQLite decides.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" && (err as NodeJS.ErrnoException).code !== "EPERM")
        throw err;
    }
  }
}

/** Open (creating if needed) an SQLite database with the mesh's pragmas, and migrate it. */
export function openDatabase(options: OpenDatabaseOptions): OpenedDatabase {
  const isMemory = options.path === ":memory:";
  const readonly = options.readonly ?? false;
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new RangeError(`busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}`);
  }
  if (!isMemory && !readonly) prepareDatabaseFile(resolve(options.path));

  const sqlite = new BetterSqlite3(options.path, {
    readonly,
    fileMustExist: readonly,
    timeout: busyTimeoutMs,
  });
  try {
    sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Enforced per connection, off by default in SQLite: without it every REFERENCES is decoration.
    sqlite.pragma("foreign_keys = ON");
    if (!readonly) {
      // WAL: readers never block the writer and vice versa. An in-memory database stays in
      // `memory` mode (WAL needs a file); a read-only connection inherits the file's mode.
      if (!isMemory) sqlite.pragma("journal_mode = WAL");
      // NORMAL is durable across application crashes in WAL mode; only an OS crash or power loss
      // can roll back the last transactions, which is the accepted trade for far fewer fsyncs.
      sqlite.pragma("synchronous = NORMAL");
    }
    const db = drizzle({ client: sqlite, schema, casing: "snake_case" });
    if (options.migrate ?? !readonly) {
      if (readonly) throw new Error("openDatabase: cannot migrate a read-only connection");
      migrateDatabase(
        db,
        options.migrationsFolder === undefined ? {} : { migrationsFolder: options.migrationsFolder },
      );
    }
    return {
      db,
      sqlite,
      close() {
        if (sqlite.open) sqlite.close();
      },
    };
  } catch (error) {
    sqlite.close();
    throw error;
  }
}
