import { describe, expect } from "vitest";
import { ConflictError, NotFoundError } from "../errors";
import { dbTest, seedAgent, seedTaskInStatus, T0, taskRow } from "../test-fixture";
import {
  countActiveTasksByAgent,
  countTasksByStatus,
  decodeTaskCursor,
  encodeTaskCursor,
  getTask,
  insertTask,
  listTaskDependencies,
  listTaskDependents,
  listTasks,
  nextQueuedTasks,
  type TaskCursor,
} from "./tasks";
import { transitionTask } from "./transition-task";

describe("insertTask", () => {
  dbTest("a task without dependencies is queued, with defaults and timestamps", ({ database: { db } }) => {
    const task = insertTask(db, { task: taskRow({ id: "t1" }), now: T0 });
    expect(task).toMatchObject({
      id: "t1",
      status: "queued",
      priority: 5,
      urgency: "low",
      attempts: 0,
      maxAttempts: 3,
      createdAt: T0,
      updatedAt: T0,
      assignedTo: null,
    });
    expect(getTask(db, "t1")).toEqual(task);
  });

  dbTest(
    "dependencies: waiting while a parent is unfinished, queued once all are done",
    ({ database: { db } }) => {
      const parentA = seedTaskInStatus(db, "done");
      const parentB = seedTaskInStatus(db, "running");
      const child = insertTask(db, {
        task: taskRow({ id: "child" }),
        dependsOn: [parentA.id, parentB.id, parentA.id],
        now: T0,
      });
      expect(child.status).toBe("waiting");
      expect(listTaskDependencies(db, "child").sort()).toEqual([parentA.id, parentB.id].sort());
      expect(listTaskDependents(db, parentB.id)).toEqual(["child"]);

      const other = insertTask(db, { task: taskRow({ id: "other" }), dependsOn: [parentA.id], now: T0 });
      expect(other.status).toBe("queued");
    },
  );

  dbTest("a missing parent inserts nothing (one transaction)", ({ database: { db } }) => {
    const parent = seedTaskInStatus(db, "done");
    expect(() =>
      insertTask(db, { task: taskRow({ id: "child" }), dependsOn: [parent.id, "ghost"], now: T0 }),
    ).toThrow(expect.objectContaining({ code: "not_found", details: { resource: "task", id: "ghost" } }));
    expect(getTask(db, "child")).toBeUndefined();
    expect(listTaskDependents(db, parent.id)).toEqual([]);
  });

  dbTest("a duplicate id or a self-dependency is a ConflictError", ({ database: { db } }) => {
    insertTask(db, { task: taskRow({ id: "dup" }), now: T0 });
    expect(() => insertTask(db, { task: taskRow({ id: "dup" }), now: T0 })).toThrow(ConflictError);
    expect(() => insertTask(db, { task: taskRow({ id: "self" }), dependsOn: ["self"], now: T0 })).toThrow(
      ConflictError,
    );
    expect(() => insertTask(db, { task: taskRow({ id: "p11", priority: 11 }), now: T0 })).toThrow();
    expect(getTask(db, "self")).toBeUndefined();
  });

  dbTest("edges to a task are removed with it (ON DELETE CASCADE)", ({ database }) => {
    const parent = seedTaskInStatus(database.db, "done");
    insertTask(database.db, { task: taskRow({ id: "child" }), dependsOn: [parent.id], now: T0 });
    database.sqlite.prepare("DELETE FROM tasks WHERE id = ?").run(parent.id);
    expect(listTaskDependencies(database.db, "child")).toEqual([]);
    expect(() => insertTask(database.db, { task: taskRow(), dependsOn: [parent.id], now: T0 })).toThrow(
      NotFoundError,
    );
  });
});

describe("listTasks", () => {
  dbTest(
    "pagination returns every row exactly once, newest first, ties broken by id",
    ({ database: { db } }) => {
      const ids: string[] = [];
      for (let i = 0; i < 53; i++) {
        // Groups of four share a created_at, so the id tie-breaker matters.
        ids.push(insertTask(db, { task: taskRow({ createdAt: T0 + Math.floor(i / 4) }), now: T0 }).id);
      }
      const seen: string[] = [];
      let cursor: TaskCursor | null = null;
      let pages = 0;
      do {
        const page = listTasks(db, { limit: 10, cursor });
        expect(page.items.length).toBeLessThanOrEqual(10);
        seen.push(...page.items.map((task) => task.id));
        // Round-trip through the API form of the cursor, as the hub will.
        cursor = page.nextCursor === null ? null : decodeTaskCursor(encodeTaskCursor(page.nextCursor));
        pages += 1;
      } while (cursor !== null && pages < 20);
      expect(pages).toBe(6);
      expect(seen).toHaveLength(53);
      expect(new Set(seen).size).toBe(53);
      expect(new Set(seen)).toEqual(new Set(ids));
      const full = listTasks(db, { limit: 500 });
      expect(full.nextCursor).toBeNull();
      expect(full.items.map((task) => task.id)).toEqual(seen);
      const keys = full.items.map((task) => [task.createdAt, task.id] as const);
      const sorted = [...keys].sort((a, b) => b[0] - a[0] || (b[1] < a[1] ? -1 : b[1] > a[1] ? 1 : 0));
      expect(keys).toEqual(sorted);
    },
  );

  dbTest("an exact multiple of the page size ends with a null cursor", ({ database: { db } }) => {
    for (let i = 0; i < 4; i++) insertTask(db, { task: taskRow({ createdAt: T0 + i }), now: T0 });
    const first = listTasks(db, { limit: 2 });
    expect(first.nextCursor).not.toBeNull();
    const second = listTasks(db, { limit: 2, cursor: first.nextCursor });
    expect(second.items).toHaveLength(2);
    expect(second.nextCursor).toBeNull();
  });

  dbTest("filters by status, agent and capability", ({ database: { db } }) => {
    seedAgent(db, "agent-2", ["code"]);
    const running = seedTaskInStatus(db, "running", { requiredCapability: "code" });
    const queued = seedTaskInStatus(db, "queued", { requiredCapability: "research" });
    const done = seedTaskInStatus(db, "done", { requiredCapability: "code" });
    const ids = (page: { items: { id: string }[] }) => page.items.map((task) => task.id).sort();
    expect(ids(listTasks(db, { status: "queued" }))).toEqual([queued.id]);
    expect(ids(listTasks(db, { status: ["running", "done"] }))).toEqual([running.id, done.id].sort());
    expect(ids(listTasks(db, { agentId: "agent-1" }))).toEqual([running.id]);
    expect(ids(listTasks(db, { agentId: "agent-2" }))).toEqual([]);
    expect(ids(listTasks(db, { capability: "code" }))).toEqual([running.id, done.id].sort());
    expect(ids(listTasks(db, { capability: "code", status: "done" }))).toEqual([done.id]);
  });

  dbTest("filters by parent: the direct dependents of a task", ({ database: { db } }) => {
    const parent = seedTaskInStatus(db, "running");
    const child = insertTask(db, { task: taskRow({ createdAt: T0 + 1 }), dependsOn: [parent.id], now: T0 });
    const grandchild = insertTask(db, {
      task: taskRow({ createdAt: T0 + 2 }),
      dependsOn: [child.id],
      now: T0,
    });
    const ids = (page: { items: { id: string }[] }) => page.items.map((task) => task.id);
    expect(ids(listTasks(db, { dependsOn: parent.id }))).toEqual([child.id]);
    expect(ids(listTasks(db, { dependsOn: child.id }))).toEqual([grandchild.id]);
    expect(ids(listTasks(db, { dependsOn: grandchild.id }))).toEqual([]);
    expect(ids(listTasks(db, { dependsOn: parent.id, status: "queued" }))).toEqual([]);
  });

  dbTest("clamps the limit to 1 … 500", ({ database: { db } }) => {
    for (let i = 0; i < 3; i++) insertTask(db, { task: taskRow(), now: T0 });
    expect(listTasks(db, { limit: 0 }).items).toHaveLength(1);
    expect(listTasks(db, { limit: 10_000 }).items).toHaveLength(3);
  });

  dbTest("malformed cursors decode to null", () => {
    for (const bad of [
      "",
      "!!!",
      "e30",
      Buffer.from('["x","y"]').toString("base64url"),
      Buffer.from("[1]").toString("base64url"),
    ]) {
      expect(decodeTaskCursor(bad), bad).toBeNull();
    }
    expect(decodeTaskCursor(encodeTaskCursor({ createdAt: T0, id: "task_1" }))).toEqual({
      createdAt: T0,
      id: "task_1",
    });
  });
});

describe("nextQueuedTasks", () => {
  dbTest("highest priority first, oldest first within a priority, queued only", ({ database: { db } }) => {
    const mk = (id: string, priority: number, createdAt: number, requiredCapability = "code") =>
      insertTask(db, { task: taskRow({ id, priority, createdAt, requiredCapability }), now: createdAt });
    mk("low-old", 1, T0);
    mk("high-new", 9, T0 + 30);
    mk("mid-new", 5, T0 + 20);
    mk("high-old", 9, T0 + 10);
    mk("mid-old", 5, T0 + 5, "research");
    mk("top", 10, T0 + 40);
    seedTaskInStatus(db, "done", { priority: 10 });
    seedTaskInStatus(db, "waiting", { priority: 10 });
    seedTaskInStatus(db, "running", { priority: 10 });
    expect(nextQueuedTasks(db, { limit: 10 }).map((task) => task.id)).toEqual([
      "top",
      "high-old",
      "high-new",
      "mid-old",
      "mid-new",
      "low-old",
    ]);
    expect(nextQueuedTasks(db, { limit: 2 }).map((task) => task.id)).toEqual(["top", "high-old"]);
    expect(nextQueuedTasks(db, { limit: 10, capability: "research" }).map((task) => task.id)).toEqual([
      "mid-old",
    ]);
  });

  dbTest("uses the dispatcher index", ({ database }) => {
    const plan = database.sqlite
      .prepare(
        "EXPLAIN QUERY PLAN SELECT id FROM tasks WHERE status = 'queued' ORDER BY priority DESC, created_at ASC, id ASC LIMIT 10",
      )
      .all() as { detail: string }[];
    expect(plan.map((row) => row.detail).join("\n")).toMatch(/tasks_status_priority_created_idx/);
  });
});

describe("counts", () => {
  dbTest("countActiveTasksByAgent counts assigned and running per agent", ({ database: { db } }) => {
    seedAgent(db, "agent-1");
    seedAgent(db, "agent-2");
    const a = seedTaskInStatus(db, "queued");
    const b = seedTaskInStatus(db, "queued");
    const c = seedTaskInStatus(db, "queued");
    transitionTask(db, { id: a.id, from: "queued", to: "assigned", set: { assignedTo: "agent-1" }, now: T0 });
    transitionTask(db, { id: b.id, from: "queued", to: "assigned", set: { assignedTo: "agent-1" }, now: T0 });
    transitionTask(db, { id: b.id, from: "assigned", to: "running", now: T0 });
    transitionTask(db, { id: c.id, from: "queued", to: "assigned", set: { assignedTo: "agent-2" }, now: T0 });
    transitionTask(db, { id: c.id, from: "assigned", to: "running", now: T0 });
    transitionTask(db, { id: c.id, from: "running", to: "done", now: T0 });
    expect(countActiveTasksByAgent(db)).toEqual(new Map([["agent-1", 2]]));
    expect(countActiveTasksByAgent(db, ["agent-2"])).toEqual(new Map());
    expect(countActiveTasksByAgent(db, [])).toEqual(new Map());
    expect(countTasksByStatus(db)).toMatchObject({ assigned: 1, running: 1, done: 1, queued: 0 });
  });
});
