import { DEPENDENT_TASK_MARKER, PARENT_OUTPUTS_HEADER } from "@m3shd/protocol";
import { describe, expect } from "vitest";
import { dbTest, seedAgent, T0, taskRow } from "../test-fixture";
import type { Executor } from "../types";
import {
  addTaskDependencies,
  DEFAULT_DAG_SETTINGS,
  findDependencyCycle,
  repointDependents,
  settleDependents,
} from "./dag";
import { getTask, insertTask, listTaskDependencies } from "./tasks";
import { transitionTask } from "./transition-task";

/** Runs a task to done with `output` (the dispatcher and worker's part, compressed). */
function finish(db: Executor, id: string, output: string) {
  seedAgent(db);
  transitionTask(db, { id, from: "queued", to: "assigned", set: { assignedTo: "agent-1" }, now: T0 });
  transitionTask(db, { id, from: "assigned", to: "running", now: T0 });
  // As in the hub: the parent's transition and its dependents' release share one transaction.
  return db.transaction(
    (tx) => {
      transitionTask(tx, { id, from: "running", to: "done", set: { output }, now: T0 });
      return settleDependents(tx, { parentId: id, outcome: "done", settings: DEFAULT_DAG_SETTINGS, now: T0 });
    },
    { behavior: "immediate" },
  );
}

/** Fails a queued task on its only attempt. */
function fail(db: Executor, id: string) {
  seedAgent(db);
  transitionTask(db, { id, from: "queued", to: "assigned", set: { assignedTo: "agent-1" }, now: T0 });
  transitionTask(db, { id, from: "assigned", to: "failed", set: { error: "boom" }, now: T0 });
}

function add(db: Executor, id: string, dependsOn: string[] = [], title = id) {
  return insertTask(db, { task: taskRow({ id, title, prompt: `prompt of ${id}` }), dependsOn, now: T0 });
}

describe("cycles", () => {
  dbTest(
    "a new task cannot close a cycle; edges between existing tasks can, and are refused",
    ({ database }) => {
      const db = database.db;
      add(db, "a");
      add(db, "b", ["a"]);
      add(db, "c", ["b"]);
      expect(findDependencyCycle(db, { taskId: "brand-new", dependsOn: ["c"] })).toBeNull();
      // c → b → a: a waiting on c closes a → c → b → a.
      expect(findDependencyCycle(db, { taskId: "a", dependsOn: ["c"] })).toEqual({ via: "c" });
      expect(findDependencyCycle(db, { taskId: "a", dependsOn: ["a"] })).toEqual({ via: "a" });
      expect(() => addTaskDependencies(db, { taskId: "a", dependsOn: ["c"], now: T0 })).toThrow(
        expect.objectContaining({ code: "conflict", details: expect.objectContaining({ reason: "cycle" }) }),
      );
      expect(listTaskDependencies(db, "a")).toEqual([]);
      // Not a cycle: another waiting task may gain c as a parent.
      add(db, "d", ["a"]);
      expect(addTaskDependencies(db, { taskId: "d", dependsOn: ["c"], now: T0 }).id).toBe("d");
      expect(listTaskDependencies(db, "d").sort()).toEqual(["a", "c"]);
    },
  );

  dbTest("a queued task gains only parents that are done", ({ database }) => {
    const db = database.db;
    add(db, "p");
    add(db, "q");
    expect(() => addTaskDependencies(db, { taskId: "q", dependsOn: ["p"], now: T0 })).toThrow(
      /already queued/,
    );
    finish(db, "p", "out");
    expect(addTaskDependencies(db, { taskId: "q", dependsOn: ["p"], now: T0 }).status).toBe("queued");
    expect(() => addTaskDependencies(db, { taskId: "q", dependsOn: ["nope"], now: T0 })).toThrow(
      expect.objectContaining({ code: "not_found" }),
    );
  });
});

describe("settling", () => {
  dbTest("a diamond releases its sink only after both parents, with both outputs", ({ database }) => {
    const db = database.db;
    add(db, "top");
    add(db, "left", ["top"], "Left side");
    add(db, "right", ["top"], "Right side");
    add(db, "sink", ["left", "right"]);
    expect(
      finish(db, "top", "T")
        .released.map((t) => t.id)
        .sort(),
    ).toEqual(["left", "right"]);
    expect(finish(db, "left", "L").released).toEqual([]);
    expect(getTask(db, "sink")?.status).toBe("waiting");
    const { released } = finish(db, "right", "R");
    expect(released.map((t) => t.id)).toEqual(["sink"]);
    // The submitted prompt is untouched; the parents' outputs are stored beside it.
    expect(released[0]?.prompt).toBe("prompt of sink");
    expect(released[0]?.parentOutputs).toBe(
      `${PARENT_OUTPUTS_HEADER}\n\n=== Left side (left) ===\nL\n\n=== Right side (right) ===\nR\n\n${DEPENDENT_TASK_MARKER}`,
    );
  });

  dbTest("fail-fast cancels every waiting descendant of a 60-level chain", ({ database }) => {
    const db = database.db;
    add(db, "n00");
    for (let i = 1; i < 60; i++)
      add(db, `n${String(i).padStart(2, "0")}`, [`n${String(i - 1).padStart(2, "0")}`]);
    fail(db, "n00");
    const { cancelled } = settleDependents(db, {
      parentId: "n00",
      outcome: "failed",
      settings: DEFAULT_DAG_SETTINGS,
      now: T0,
    });
    expect(cancelled).toHaveLength(59);
    expect(getTask(db, "n59")).toMatchObject({ status: "cancelled", cancelReason: "dependency n00 failed" });
  });

  dbTest("without fail-fast a child runs once every parent settled, told which failed", ({ database }) => {
    const db = database.db;
    const settings = { ...DEFAULT_DAG_SETTINGS, failFast: false };
    add(db, "ok");
    add(db, "bad");
    add(db, "child", ["ok", "bad"]);
    finish(db, "ok", "fine");
    fail(db, "bad");
    const { released } = settleDependents(db, { parentId: "bad", outcome: "failed", settings, now: T0 });
    expect(released.map((t) => t.id)).toEqual(["child"]);
    expect(released[0]?.parentOutputs).toContain("=== bad (bad) ===\n(this task ended failed: boom)");
  });

  dbTest("a handoff moves the dependents onto the continuation", ({ database }) => {
    const db = database.db;
    add(db, "orig");
    add(db, "child", ["orig"]);
    add(db, "cont");
    expect(repointDependents(db, { from: "orig", to: "cont" })).toBe(1);
    expect(listTaskDependencies(db, "child")).toEqual(["cont"]);
  });

  dbTest("fan-in of 100 parents, fan-out of 1000 children", ({ database }) => {
    const db = database.db;
    const parents = Array.from({ length: 100 }, (_, i) => `p${String(i).padStart(3, "0")}`);
    for (const p of parents) add(db, p);
    add(db, "sink", parents);
    for (const p of parents.slice(0, 99)) expect(finish(db, p, "x".repeat(2000)).released).toEqual([]);
    const { released } = finish(db, "p099", "x".repeat(2000));
    expect(released).toHaveLength(1);
    for (const p of parents) expect(released[0]?.parentOutputs).toContain(`=== ${p} (${p}) ===`);
    expect(Buffer.byteLength(released[0]?.parentOutputs ?? "")).toBeLessThan(
      DEFAULT_DAG_SETTINGS.parentOutputBudgetBytes + 100 * 80,
    );

    add(db, "root");
    for (let i = 0; i < 1000; i++) add(db, `c${i}`, ["root"]);
    const started = performance.now();
    expect(finish(db, "root", "seed").released).toHaveLength(1000);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});
