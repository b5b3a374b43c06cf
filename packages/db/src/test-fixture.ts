import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TaskStatus } from "@m3shd/protocol";
import { eq } from "drizzle-orm";
import { test } from "vitest";
import { type OpenedDatabase, openDatabase } from "./connection";
import { upsertAgent } from "./queries/agents";
import { insertTask, type NewTask, type Task } from "./queries/tasks";
import { tasks } from "./schema";
import type { Executor } from "./types";

/**
 * `dbTest`: every test gets a fresh, migrated SQLite *file* in its own temp directory (real WAL,
 * real locking), closed and deleted when the test ends. `dbDir` is that directory.
 */
export const dbTest = test.extend<{ dbDir: string; database: OpenedDatabase }>({
  dbDir: async ({ task }, use) => {
    const slug = task.name.replace(/[^a-z0-9]+/gi, "-").slice(0, 40);
    const dir = mkdtempSync(join(tmpdir(), `m3shd-db-${slug}-`));
    await use(dir);
    rmSync(dir, { recursive: true, force: true });
  },
  database: async ({ dbDir }, use) => {
    const opened = openDatabase({ path: join(dbDir, "m3shd.db") });
    await use(opened);
    opened.close();
  },
});

export const T0 = 1_700_000_000_000;

let counter = 0;
/** A task row with sensible defaults; unique id unless given. */
export function taskRow(overrides: Partial<Omit<NewTask, "status">> = {}): Omit<NewTask, "status"> {
  counter += 1;
  return {
    id: `task_${String(counter).padStart(6, "0")}`,
    title: `task ${counter}`,
    prompt: "do the thing",
    requiredCapability: "code",
    ...overrides,
  };
}

/** Register a test agent. */
export function seedAgent(db: Executor, id = "agent-1", capabilities: string[] = ["code"]): void {
  upsertAgent(db, { id, name: id, capabilities, maxConcurrent: 4, now: T0 });
}

/**
 * Put a task directly into `status` (test setup only: real code moves tasks with `transitionTask`).
 * `assigned`/`running` tasks get `agent-1` (registered on demand) to satisfy the assignee CHECK.
 */
export function seedTaskInStatus(
  db: Executor,
  status: TaskStatus,
  overrides: Partial<Omit<NewTask, "status">> = {},
): Task {
  const row = insertTask(db, { task: taskRow(overrides), now: overrides.createdAt ?? T0 });
  if (status === "queued") return row;
  const needsAgent = status === "assigned" || status === "running";
  if (needsAgent) seedAgent(db);
  const [updated] = db
    .update(tasks)
    .set({ status, assignedTo: needsAgent ? "agent-1" : null })
    .where(eq(tasks.id, row.id))
    .returning()
    .all();
  if (!updated) throw new Error("seedTaskInStatus: row vanished");
  return updated;
}
