import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateSQLiteDrizzleJson, generateSQLiteMigration } from "drizzle-kit/api";
import { describe, expect, test } from "vitest";
import { openDatabase } from "./connection";
import { MIGRATIONS_FOLDER, MigrationIntegrityError, migrateDatabase } from "./migrate";
import { appendChunk } from "./queries/chunks";
import { insertTask } from "./queries/tasks";
import * as schema from "./schema";
import { dbTest, seedAgent, T0, taskRow } from "./test-fixture";

const EXPECTED_TABLES = [
  "agent_capability_stats",
  "agent_outages",
  "agent_tokens",
  "agents",
  "api_keys",
  "approvals",
  "audit_log",
  "context",
  "cost_log",
  "entities",
  "entity_relations",
  "escalations",
  "inbound_webhooks",
  "ledger_entries",
  "merkle_leaves",
  "messages",
  "node_keys",
  "peer_hubs",
  "plugin_states",
  "provenance_links",
  "rate_limits",
  "result_envelopes",
  "sessions",
  "task_chunks",
  "task_deps",
  "task_idempotency",
  "task_templates",
  "tasks",
  "sweeper_runs",
  "users",
  "webhook_deliveries",
  "validation_streaks",
  "webhooks",
];

const DISPATCHER_INDEXES = [
  "tasks_status_priority_created_idx",
  "tasks_assigned_to_status_idx",
  "tasks_capability_status_idx",
  "tasks_deadline_idx",
  "tasks_created_at_id_idx",
  "agents_status_idx",
  "task_deps_depends_on_id_idx",
];

function names(sqlite: import("better-sqlite3").Database, type: "table" | "index"): string[] {
  return (
    sqlite
      .prepare("SELECT name FROM sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .all(type) as { name: string }[]
  ).map((row) => row.name);
}

function schemaSql(sqlite: import("better-sqlite3").Database): string {
  return (sqlite.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY type, name").all() as object[])
    .map((row) => JSON.stringify(row))
    .join("\n");
}

describe("migrations", () => {
  dbTest("create every table and the dispatcher's indexes", ({ database }) => {
    expect(names(database.sqlite, "table")).toEqual([...EXPECTED_TABLES, "__drizzle_migrations"].sort());
    expect(names(database.sqlite, "index")).toEqual(expect.arrayContaining(DISPATCHER_INDEXES));
    const deadline = database.sqlite
      .prepare("SELECT sql FROM sqlite_master WHERE name = 'tasks_deadline_idx'")
      .get() as { sql: string };
    expect(deadline.sql).toMatch(/WHERE "deadline" IS NOT NULL/);
  });

  dbTest("running them twice is a no-op", ({ database, dbDir }) => {
    const before = schemaSql(database.sqlite);
    const applied = database.sqlite.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get();
    migrateDatabase(database.db);
    migrateDatabase(database.db);
    expect(schemaSql(database.sqlite)).toBe(before);
    expect(database.sqlite.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get()).toEqual(applied);
    database.close();

    // Re-opening (which migrates on open) leaves the file exactly as it was too.
    const reopened = openDatabase({ path: join(dbDir, "m3shd.db") });
    expect(schemaSql(reopened.sqlite)).toBe(before);
    expect(reopened.sqlite.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get()).toEqual(applied);
    reopened.close();
  });

  dbTest("one migration per journal entry is recorded", ({ database }) => {
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
      entries: unknown[];
    };
    const applied = database.sqlite.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get() as {
      n: number;
    };
    expect(applied.n).toBe(journal.entries.length);
  });

  test("the committed migrations match the schema (run `pnpm db:generate` if this fails)", async () => {
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
      entries: { idx: number }[];
    };
    const last = journal.entries.at(-1);
    if (!last) throw new Error("no migrations in the journal");
    const snapshotFile = join(
      MIGRATIONS_FOLDER,
      "meta",
      `${String(last.idx).padStart(4, "0")}_snapshot.json`,
    );
    const previous = JSON.parse(readFileSync(snapshotFile, "utf8"));
    const current = await generateSQLiteDrizzleJson({ ...schema }, previous.id, "snake_case");
    expect(await generateSQLiteMigration(previous, current)).toEqual([]);
  });

  test("an in-memory database migrates too", () => {
    const memory = openDatabase({ path: ":memory:" });
    try {
      expect(names(memory.sqlite, "table")).toEqual([...EXPECTED_TABLES, "__drizzle_migrations"].sort());
      expect(memory.sqlite.pragma("foreign_keys", { simple: true })).toBe(1);
      expect(memory.sqlite.pragma("journal_mode", { simple: true })).toBe("memory");
      insertTask(memory.db, { task: taskRow(), now: T0 });
      expect(memory.sqlite.prepare("SELECT count(*) AS n FROM tasks").get()).toEqual({ n: 1 });
    } finally {
      memory.close();
    }
  });
});

describe("constraints", () => {
  const rejected: [string, string, unknown[]][] = [
    [
      "task status",
      "INSERT INTO tasks (id, title, prompt, required_capability, status) VALUES ('t', 'x', 'p', 'c', ?)",
      ["bogus"],
    ],
    [
      "task urgency",
      "INSERT INTO tasks (id, title, prompt, required_capability, urgency) VALUES ('t', 'x', 'p', 'c', ?)",
      ["urgent"],
    ],
    [
      "task priority above 10",
      "INSERT INTO tasks (id, title, prompt, required_capability, priority) VALUES ('t', 'x', 'p', 'c', ?)",
      [11],
    ],
    [
      "task priority below 1",
      "INSERT INTO tasks (id, title, prompt, required_capability, priority) VALUES ('t', 'x', 'p', 'c', ?)",
      [0],
    ],
    [
      "running task without an agent",
      "INSERT INTO tasks (id, title, prompt, required_capability, status) VALUES ('t', 'x', 'p', 'c', ?)",
      ["running"],
    ],
    ["agent status", "INSERT INTO agents (id, name, status) VALUES ('a', 'a', ?)", ["asleep"]],
    ["agent breaker state", "INSERT INTO agents (id, name, breaker_state) VALUES ('a', 'a', ?)", ["ajar"]],
    [
      "agent capabilities not an array",
      "INSERT INTO agents (id, name, capabilities) VALUES ('a', 'a', ?)",
      ['{"code":true}'],
    ],
    [
      "user role",
      "INSERT INTO users (id, username, password_hash, role) VALUES ('u', 'u', 'h', ?)",
      ["root"],
    ],
    [
      "peer hub status",
      "INSERT INTO peer_hubs (id, name, url, secret, status) VALUES ('p', 'p', 'u', 's', ?)",
      ["gone"],
    ],
  ];

  for (const [what, statement, params] of rejected) {
    dbTest(`CHECK rejects a bad ${what}`, ({ database }) => {
      expect(() => database.sqlite.prepare(statement).run(...params)).toThrow(
        expect.objectContaining({ code: "SQLITE_CONSTRAINT_CHECK" }),
      );
    });
  }

  dbTest("CHECK rejects bad approval and escalation statuses", ({ database }) => {
    seedAgent(database.db);
    expect(() =>
      database.sqlite
        .prepare(
          "INSERT INTO approvals (id, agent_id, action, expires_at, status) VALUES ('x', 'agent-1', 'a', 1, ?)",
        )
        .run("maybe"),
    ).toThrow(expect.objectContaining({ code: "SQLITE_CONSTRAINT_CHECK" }));
    expect(() =>
      database.sqlite
        .prepare(
          "INSERT INTO escalations (id, agent_id, target, reason, status) VALUES ('x', 'agent-1', 'operator', 'r', ?)",
        )
        .run("ignored"),
    ).toThrow(expect.objectContaining({ code: "SQLITE_CONSTRAINT_CHECK" }));
  });

  dbTest("the good values pass the same CHECKs", ({ database }) => {
    database.sqlite
      .prepare(
        "INSERT INTO tasks (id, title, prompt, required_capability, status, urgency, priority) VALUES ('t', 'x', 'p', 'c', ?, ?, ?)",
      )
      .run("waiting", "critical", 10);
    expect(database.sqlite.prepare("SELECT status, created_at FROM tasks").get()).toEqual({
      status: "waiting",
      created_at: expect.any(Number),
    });
  });

  dbTest("FK rejects a task_deps edge to a missing task", ({ database }) => {
    insertTask(database.db, { task: taskRow({ id: "child" }), now: T0 });
    expect(() =>
      database.sqlite
        .prepare("INSERT INTO task_deps (task_id, depends_on_id) VALUES ('child', 'nope')")
        .run(),
    ).toThrow(expect.objectContaining({ code: "SQLITE_CONSTRAINT_FOREIGNKEY" }));
  });

  dbTest("FK rejects assigning a task to an unknown agent", ({ database }) => {
    insertTask(database.db, { task: taskRow({ id: "t1" }), now: T0 });
    expect(() =>
      database.sqlite
        .prepare("UPDATE tasks SET status = 'assigned', assigned_to = 'ghost' WHERE id = 't1'")
        .run(),
    ).toThrow(expect.objectContaining({ code: "SQLITE_CONSTRAINT_FOREIGNKEY" }));
  });
});

/**
 * A copy of the real migrations plus one extra migration `sql` (statements joined by drizzle-kit's
 * breakpoint marker), as drizzle-kit would lay it out. Test-only: production migrations are generated.
 */
function migrationsWithExtra(dir: string, statements: string[]): string {
  const folder = join(dir, "migrations-extra");
  cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalPath = join(folder, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8")) as {
    entries: { idx: number; version: string; when: number; tag: string; breakpoints: boolean }[];
  };
  const last = journal.entries.at(-1);
  if (!last) throw new Error("empty journal");
  const tag = `${String(last.idx + 1).padStart(4, "0")}_extra`;
  journal.entries.push({ ...last, idx: last.idx + 1, when: last.when + 1, tag });
  writeFileSync(journalPath, JSON.stringify(journal));
  writeFileSync(join(folder, `${tag}.sql`), statements.join("\n--> statement-breakpoint\n"));
  return folder;
}

describe("migrating an existing database", () => {
  dbTest(
    "recreating a parent table (drizzle-kit's ALTER pattern) keeps its children's rows",
    ({ database, dbDir }) => {
      const { db, sqlite } = database;
      const parent = insertTask(db, { task: taskRow({ id: "parent" }), now: T0 });
      insertTask(db, { task: taskRow({ id: "child" }), dependsOn: [parent.id], now: T0 });
      appendChunk(db, { taskId: parent.id, attempt: 1, content: "hello", now: T0 });
      const tasksDdl = (
        sqlite.prepare("SELECT sql FROM sqlite_master WHERE name = 'tasks'").get() as { sql: string }
      ).sql;
      const folder = migrationsWithExtra(dbDir, [
        // What drizzle-kit emits when a change needs a table rebuild (the pragmas are inert in a transaction).
        "PRAGMA foreign_keys=OFF;",
        `${tasksDdl.replace("CREATE TABLE `tasks`", "CREATE TABLE `__new_tasks`")};`,
        "INSERT INTO `__new_tasks` SELECT * FROM `tasks`;",
        "DROP TABLE `tasks`;",
        "ALTER TABLE `__new_tasks` RENAME TO `tasks`;",
        "PRAGMA foreign_keys=ON;",
      ]);
      migrateDatabase(db, { migrationsFolder: folder });
      expect(sqlite.prepare("SELECT count(*) AS n FROM task_deps").get()).toEqual({ n: 1 });
      expect(sqlite.prepare("SELECT count(*) AS n FROM task_chunks").get()).toEqual({ n: 1 });
      expect(sqlite.pragma("foreign_keys", { simple: true })).toBe(1);
      // Every committed migration plus the extra one.
      const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta", "_journal.json"), "utf8")) as {
        entries: unknown[];
      };
      expect(sqlite.prepare("SELECT count(*) AS n FROM __drizzle_migrations").get()).toEqual({
        n: journal.entries.length + 1,
      });
    },
  );

  dbTest(
    "a migration that breaks a foreign key is reported, and foreign keys stay on",
    ({ database, dbDir }) => {
      const { db, sqlite } = database;
      seedAgent(db, "agent-1");
      sqlite
        .prepare("INSERT INTO agent_capability_stats (agent_id, capability) VALUES ('agent-1', 'code')")
        .run();
      const folder = migrationsWithExtra(dbDir, ["DELETE FROM `agents`;"]);
      expect(() => migrateDatabase(db, { migrationsFolder: folder })).toThrow(MigrationIntegrityError);
      expect(sqlite.pragma("foreign_keys", { simple: true })).toBe(1);
    },
  );
});

/** The committed migrations up to (not including) the one tagged `beforeTag`. */
function migrationsBefore(dir: string, beforeTag: string): string {
  const folder = join(dir, "migrations-before");
  cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalPath = join(folder, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8")) as { entries: { tag: string }[] };
  const cut = journal.entries.findIndex((e) => e.tag === beforeTag);
  if (cut < 0) throw new Error(`no migration ${beforeTag}`);
  journal.entries = journal.entries.slice(0, cut);
  writeFileSync(journalPath, JSON.stringify(journal));
  return folder;
}

describe("attempts and chunks per attempt (0002–0004)", () => {
  dbTest("a database from before attempts keeps its tasks and chunks, numbered as attempt 1", ({ dbDir }) => {
    const path = join(dbDir, "old.db");
    const old = openDatabase({
      path,
      migrationsFolder: migrationsBefore(dbDir, "0002_attempts_and_prompt_parts"),
    });
    old.sqlite
      .prepare(
        "INSERT INTO tasks (id, title, prompt, required_capability, attempts) VALUES ('t1', 't', 'p', 'c', 2)",
      )
      .run();
    old.sqlite
      .prepare("INSERT INTO task_chunks (task_id, seq, content) VALUES ('t1', 0, 'a'), ('t1', 1, 'b')")
      .run();
    // The old pickup wrote the agent's memories into the stored prompt.
    old.sqlite
      .prepare("INSERT INTO tasks (id, title, prompt, required_capability) VALUES ('t2', 't', ?, 'c')")
      .run("[MEMORY]\n- secret: only for the agent\n[/MEMORY]\n\nthe real prompt\n");
    old.close();

    const { db, sqlite, close } = openDatabase({ path });
    try {
      // The backfill: the current attempt of an old task is its pickup count.
      expect(sqlite.prepare("SELECT attempt, attempts, prompt FROM tasks WHERE id = 't1'").get()).toEqual({
        attempt: 2,
        attempts: 2,
        prompt: "p",
      });
      // …and no memory text is left in the hub's database.
      expect(sqlite.prepare("SELECT prompt FROM tasks WHERE id = 't2'").get()).toEqual({
        prompt: "the real prompt\n",
      });
      expect(sqlite.prepare("SELECT attempt, seq, content FROM task_chunks ORDER BY seq").all()).toEqual([
        { attempt: 1, seq: 0, content: "a" },
        { attempt: 1, seq: 1, content: "b" },
      ]);
      // Uniqueness is now per (task, attempt, seq): a second attempt starts again at 0.
      expect(appendChunk(db, { taskId: "t1", attempt: 2, content: "c", now: T0 }).seq).toBe(0);
      expect(() =>
        sqlite
          .prepare("INSERT INTO task_chunks (task_id, attempt, seq, content) VALUES ('t1', 2, 0, 'dup')")
          .run(),
      ).toThrow(/UNIQUE|PRIMARY KEY/);
    } finally {
      close();
    }
  });
});
