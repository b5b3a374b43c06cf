import { fileURLToPath } from "node:url";
import { migrate } from "drizzle-orm/better-sqlite3/migrator";
import type { Database } from "./types";

/**
 * The generated migrations. Resolved from this module's own URL: `src/` and `dist/` are both one
 * level below the package root, so the same expression works from source (tests) and from the build.
 */
export const MIGRATIONS_FOLDER: string = fileURLToPath(new URL("../migrations", import.meta.url));

/** Thrown when the schema after migrating violates a foreign key (the migration is already committed). */
export class MigrationIntegrityError extends Error {
  constructor(readonly violations: unknown[]) {
    super(`migrations left ${violations.length} foreign key violation(s); refusing to start`);
    this.name = "MigrationIntegrityError";
  }
}

/**
 * Apply every pending drizzle-kit migration (drizzle's migrator runs them all in one transaction).
 * Idempotent: applied migrations are recorded in `__drizzle_migrations` and skipped, so calling this
 * on every start is a no-op once the database is current.
 *
 * Foreign keys are switched off around the migrator, following SQLite's documented procedure for
 * schema changes: drizzle-kit alters a table by recreating it (`CREATE __new_x; INSERT …; DROP x;
 * RENAME`), and with foreign keys on, that `DROP TABLE tasks` would run an implicit DELETE that
 * cascades to task_deps and task_chunks. The `PRAGMA foreign_keys=OFF` drizzle-kit writes into such
 * migrations cannot help: the pragma is a no-op inside the migrator's transaction. Afterwards
 * `foreign_key_check` must come back clean, or this throws `MigrationIntegrityError`.
 */
export function migrateDatabase(db: Database, options: { migrationsFolder?: string } = {}): void {
  const sqlite = db.$client;
  const foreignKeysWereOn = sqlite.pragma("foreign_keys", { simple: true }) === 1;
  if (foreignKeysWereOn) sqlite.pragma("foreign_keys = OFF");
  try {
    migrate(db, { migrationsFolder: options.migrationsFolder ?? MIGRATIONS_FOLDER });
    const violations = sqlite.pragma("foreign_key_check") as unknown[];
    if (violations.length > 0) throw new MigrationIntegrityError(violations);
  } finally {
    if (foreignKeysWereOn) sqlite.pragma("foreign_keys = ON");
  }
}
