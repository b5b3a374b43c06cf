import { chmodSync, closeSync, mkdirSync, openSync } from "node:fs";
import { dirname, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";

/**
 * The memory service's own SQLite file. Raw better-sqlite3 rather than Drizzle: the schema is an
 * FTS5 contentless virtual table, an fts5vocab view and blind-index BLOB columns — none of which
 * Drizzle models — and every statement is a fixed, parameterized string prepared once.
 */
export type Sqlite = BetterSqlite3.Database;

/** Ordered migrations; each runs once, in a transaction, and is recorded in `schema_migrations`. */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: "encrypted entries, blind index, key records, merges",
    sql: `
      -- Key-encryption keys known to this database, by fingerprint id. The keys themselves are never stored.
      CREATE TABLE keks (
        kek_id TEXT PRIMARY KEY,
        added_at INTEGER NOT NULL,
        retired_at INTEGER
      ) STRICT;

      -- Per-agent key material (64 random bytes), wrapped by a KEK and optionally sealed to the
      -- offline recovery key. A new generation appears on every re-encrypting rotation.
      CREATE TABLE agent_keys (
        agent_id TEXT NOT NULL,
        generation INTEGER NOT NULL,
        kek_id TEXT NOT NULL,
        wrapped BLOB NOT NULL,
        recovery_key_id TEXT,
        recovery_sealed BLOB,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (agent_id, generation)
      ) STRICT;
      CREATE INDEX agent_keys_kek ON agent_keys (kek_id);

      -- One memory. Key, value, tags, confidence and source task live only inside \`sealed\`
      -- (AES-256-GCM, AAD = agent ‖ id); only what queries need (agent, times, blinds) is in clear.
      -- \`key_blind\` is an HMAC of the key identity so upserts find the row without the plaintext.
      CREATE TABLE entries (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        agent_id TEXT NOT NULL,
        generation INTEGER NOT NULL,
        key_blind BLOB NOT NULL,
        sealed BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        -- The entry's blind FTS tokens, packed 8 bytes each: the same relation the FTS index already
        -- holds (token ↔ row), kept here so document frequencies can be maintained on delete.
        tokens BLOB NOT NULL,
        UNIQUE (agent_id, key_blind)
      ) STRICT;
      CREATE INDEX entries_agent_updated ON entries (agent_id, updated_at, seq);

      -- Blinded tags, for tag filters without decrypting.
      CREATE TABLE entry_tags (
        tag_blind BLOB NOT NULL,
        entry_seq INTEGER NOT NULL REFERENCES entries (seq) ON DELETE CASCADE,
        PRIMARY KEY (tag_blind, entry_seq)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX entry_tags_entry ON entry_tags (entry_seq);

      -- Contentless FTS5 over blind tokens only (rowid = entries.seq). Contentless: FTS keeps no copy
      -- of the document; contentless_delete lets a row be removed by rowid alone.
      CREATE VIRTUAL TABLE entry_fts USING fts5 (tokens, content = '', contentless_delete = 1, tokenize = 'ascii');
      -- Deleted tokens are purged from the index immediately, not at the next segment merge.
      INSERT INTO entry_fts (entry_fts, rank) VALUES ('secure-delete', 1);
      -- Documents per blind token, maintained on every index write: the query planner reads it in
      -- O(1) (fts5vocab would walk the whole doclist, which is what the planner is there to avoid).
      CREATE TABLE term_df (
        token BLOB PRIMARY KEY,
        df INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      -- Index totals (rows, tokens): N and the average length in the bm25 of the second ranking stage.
      CREATE TABLE fts_stats (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        docs INTEGER NOT NULL,
        tokens INTEGER NOT NULL
      ) STRICT;
      INSERT INTO fts_stats (id, docs, tokens) VALUES (1, 0, 0);
      -- An entry's index row can never outlive it.
      CREATE TRIGGER entries_fts_delete AFTER DELETE ON entries BEGIN
        DELETE FROM entry_fts WHERE rowid = old.seq;
      END;

      -- What consolidation merged, resolved or derived. Details (the removed entries' contents) are
      -- sealed under the agent's key like entries are.
      CREATE TABLE merges (
        id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        agent_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('duplicate', 'contradiction', 'pattern')),
        kept_entry_id TEXT NOT NULL,
        source_entry_ids TEXT NOT NULL,
        generation INTEGER NOT NULL,
        sealed BLOB NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX merges_agent ON merges (agent_id, created_at);

      -- Consolidation runs that changed something.
      CREATE TABLE consolidation_runs (
        id TEXT PRIMARY KEY,
        started_at INTEGER NOT NULL,
        finished_at INTEGER NOT NULL,
        agents INTEGER NOT NULL,
        duplicates INTEGER NOT NULL,
        contradictions INTEGER NOT NULL,
        patterns INTEGER NOT NULL
      ) STRICT;
    `,
  },
];

export interface OpenMemoryDatabaseOptions {
  /** File path, or `:memory:`. */
  path: string;
  busyTimeoutMs?: number;
}

/** Opens (creating if needed) the memory database with its pragmas, and applies pending migrations. */
export function openMemoryDatabase(options: OpenMemoryDatabaseOptions): Sqlite {
  const isMemory = options.path === ":memory:";
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!isMemory) {
    mkdirSync(dirname(resolve(options.path)), { recursive: true, mode: 0o700 });
    // Created 0600 before SQLite opens it: no window in which a new file is world-readable.
    closeSync(openSync(options.path, "a", 0o600));
  }
  const db = new BetterSqlite3(options.path, { timeout: busyTimeoutMs });
  try {
    // Owner-only, before the WAL exists: SQLite gives -wal and -shm the main file's permissions.
    // Contents are ciphertext anyway; sizes, counts and timestamps are still nobody else's business.
    if (!isMemory) chmodSync(options.path, 0o600);
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
    db.pragma("foreign_keys = ON");
    if (!isMemory) db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    // Sorts and temporary indexes stay in RAM: no plaintext-free-but-still-unaccounted temp files.
    db.pragma("temp_store = MEMORY");
    // Freed pages are zeroed, so deleted rows (agent ids, timestamps, blinds) do not linger in the file.
    db.pragma("secure_delete = ON");
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/** Applies pending migrations; returns the versions applied. */
export function migrate(db: Sqlite): number[] {
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT",
  );
  const applied = new Set(
    db
      .prepare("SELECT version FROM schema_migrations")
      .pluck()
      .all()
      .map((v) => Number(v)),
  );
  const done: number[] = [];
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        migration.version,
        migration.name,
        Date.now(),
      );
    }).immediate();
    done.push(migration.version);
  }
  return done;
}
