import { buildParentOutputs, LIMITS, type ParentOutput, type TaskStatus } from "@m3shd/protocol";
import { and, eq, inArray, notExists, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import { ConflictError, IllegalTransitionError, NotFoundError } from "../errors";
import { inJsonList, prepared } from "../prepared";
import { taskDeps, tasks } from "../schema";
import type { Executor } from "../types";
import { getTask, type InsertTaskInput, insertTask, type Task } from "./tasks";
import { transitionTask } from "./transition-task";

/** How dependents react when a parent settles. */
export interface DagSettings {
  /**
   * Fail-fast (default): a parent that fails or is cancelled cancels every waiting descendant.
   * Off: a child is released once all its parents are terminal, failed ones reporting their error.
   */
  failFast: boolean;
  /** UTF-8 bytes of parent output stored beside a released child's prompt, shared by its parents. */
  parentOutputBudgetBytes: number;
}

export const DEFAULT_DAG_SETTINGS: DagSettings = { failFast: true, parentOutputBudgetBytes: 48 * 1024 };

/** Statuses after which a task never changes again, as far as its dependents are concerned. */
const SETTLED_TERMINAL: readonly TaskStatus[] = ["done", "failed", "cancelled", "suspended"];

/** Whether any task depends on `taskId` (one probe of `task_deps_depends_on_id_idx`). */
export function hasDependents(db: Executor, taskId: string): boolean {
  const row = prepared(db, "dag:hasDependents", () =>
    db
      .select({ one: sql<number>`1` })
      .from(taskDeps)
      .where(eq(taskDeps.dependsOnId, sql.placeholder("id")))
      .limit(1)
      .prepare(),
  ).get({ id: taskId });
  return row !== undefined;
}

/**
 * Would the edges `taskId → each of dependsOn` close a cycle? Returns the parent through which
 * `taskId` is already an ancestor of itself-to-be, or null. A recursive CTE walks the ancestors of
 * the proposed parents (set semantics, so shared ancestors are visited once) and looks for
 * `taskId` among them.
 *
 * Fast path: if nothing depends on `taskId`, no path can lead back to it, so no edge out of it can
 * close a cycle: one index probe and done. That covers every brand-new task (plain creates and
 * pipeline steps inserted in topological order); the walk runs only when edges are added between
 * tasks that already have dependents.
 */
export function findDependencyCycle(
  db: Executor,
  input: { taskId: string; dependsOn: readonly string[] },
): { via: string } | null {
  if (input.dependsOn.includes(input.taskId)) return { via: input.taskId };
  if (input.dependsOn.length === 0 || !hasDependents(db, input.taskId)) return null;
  const row = db.get<{ via: string } | undefined>(sql`
    WITH RECURSIVE ancestors(seed, id) AS (
      SELECT value, value FROM json_each(${JSON.stringify(input.dependsOn)})
      UNION
      SELECT a.seed, d.depends_on_id FROM task_deps d JOIN ancestors a ON d.task_id = a.id
    )
    SELECT seed AS via FROM ancestors WHERE id = ${input.taskId} LIMIT 1`);
  return row ?? null;
}

/** Statuses a parent can be in and still complete some day. */
const CAN_COMPLETE: readonly TaskStatus[] = ["waiting", "queued", "assigned", "running", "relayed", "done"];

/**
 * Refuses (409) parents that ended without completing (failed, cancelled, suspended): a child
 * would wait for them forever. Run it in the transaction that adds the edges, so a parent failing
 * meanwhile is either seen here or settles the child itself.
 */
export function assertParentsCanComplete(db: Executor, parentIds: readonly string[]): void {
  if (parentIds.length === 0) return;
  const dead = db
    .select({ id: tasks.id, status: tasks.status })
    .from(tasks)
    .where(inArray(tasks.id, [...parentIds]))
    .all()
    .find((p) => !CAN_COMPLETE.includes(p.status));
  if (dead) {
    throw new ConflictError(`Task ${dead.id} is ${dead.status}: nothing can depend on it any more`, {
      depends_on: dead.id,
      status: dead.status,
    });
  }
}

/** `insertTask`, with `assertParentsCanComplete` in the same transaction when it has parents. */
export function insertDependentTask(db: Executor, input: InsertTaskInput): Task {
  if (!input.dependsOn || input.dependsOn.length === 0) return insertTask(db, input);
  const parents = input.dependsOn;
  return db.transaction(
    (tx) => {
      assertParentsCanComplete(tx, parents);
      return insertTask(tx, input);
    },
    { behavior: "immediate" },
  );
}

/**
 * Adds parents to a task that has not started: a `waiting` task takes any parents; a `queued` one
 * only parents that are already done (it cannot go back to waiting once the dispatcher may see it).
 * Runs the cycle check first; throws `ConflictError` (409) on a cycle, `NotFoundError` for a
 * missing task, `IllegalTransitionError` for a task past `queued`. Edges already present are kept.
 */
export function addTaskDependencies(
  db: Executor,
  input: { taskId: string; dependsOn: readonly string[]; now: number },
): Task {
  const parentIds = [...new Set(input.dependsOn)];
  return db.transaction(
    (tx) => {
      const task = getTask(tx, input.taskId);
      if (!task) throw new NotFoundError("task", input.taskId);
      if (task.status !== "waiting" && task.status !== "queued") {
        throw new IllegalTransitionError(task.status, "waiting", task.id);
      }
      const parents = tx
        .select({ id: tasks.id, status: tasks.status })
        .from(tasks)
        .where(inArray(tasks.id, parentIds))
        .all();
      const found = new Map(parents.map((p) => [p.id, p.status]));
      const missing = parentIds.find((id) => !found.has(id));
      if (missing !== undefined) throw new NotFoundError("task", missing);
      const existing = new Set(
        tx
          .select({ id: taskDeps.dependsOnId })
          .from(taskDeps)
          .where(eq(taskDeps.taskId, task.id))
          .all()
          .map((r) => r.id),
      );
      const added = parentIds.filter((id) => !existing.has(id));
      assertParentsCanComplete(tx, added);
      if (existing.size + added.length > LIMITS.dependsOnMax) {
        throw new ConflictError(`A task may depend on at most ${LIMITS.dependsOnMax} tasks`, {
          task_id: task.id,
          limit: LIMITS.dependsOnMax,
        });
      }
      const cycle = findDependencyCycle(tx, { taskId: task.id, dependsOn: added });
      if (cycle) {
        throw new ConflictError(`Dependency cycle: ${cycle.via} already depends on ${task.id}`, {
          task_id: task.id,
          depends_on: cycle.via,
          reason: "cycle",
        });
      }
      if (task.status === "queued") {
        const unmet = added.find((id) => found.get(id) !== "done");
        if (unmet !== undefined) {
          throw new ConflictError(
            `Task ${task.id} is already queued: it can only gain parents that are done (${unmet} is ${found.get(unmet)})`,
            { task_id: task.id, depends_on: unmet },
          );
        }
      }
      if (added.length > 0) {
        tx.insert(taskDeps)
          .values(added.map((dependsOnId) => ({ taskId: task.id, dependsOnId, createdAt: input.now })))
          .onConflictDoNothing()
          .run();
      }
      return task;
    },
    { behavior: "immediate" },
  );
}

/** What settling a parent changed; the caller publishes events and enqueues dispatch jobs. */
export interface Settlement {
  /** Children moved `waiting → queued`, their parents' outputs stored beside their prompts. */
  released: Task[];
  /** Descendants moved `waiting → cancelled` (fail-fast), with the reason written on each. */
  cancelled: { id: string; reason: string }[];
}

const EMPTY: Settlement = { released: [], cancelled: [] };

/**
 * Reacts to `parentId` reaching a terminal status (`done`, `failed`, `cancelled`). Call it inside
 * the transaction that made that transition, so a parent is never settled without its dependents
 * being released or cancelled with it.
 *
 * - done (or any outcome with fail-fast off): every `waiting` child whose parents are now all
 *   settled is released to `queued` with each parent's output, labelled by title and trimmed to
 *   the budget, stored in `parent_outputs` beside its prompt (the prompt itself is not rewritten).
 * - failed or cancelled with fail-fast on: every `waiting` descendant, however deep, is cancelled
 *   with a reason naming the parent.
 *
 * A parent without dependents costs one indexed probe, so the completion path stays cheap.
 */
export function settleDependents(
  db: Executor,
  input: { parentId: string; outcome: "done" | "failed" | "cancelled"; settings: DagSettings; now: number },
): Settlement {
  if (!hasDependents(db, input.parentId)) return EMPTY;
  if (input.outcome !== "done" && input.settings.failFast) {
    return { released: [], cancelled: cancelWaitingDescendants(db, input) };
  }
  return { released: releaseReadyChildren(db, input), cancelled: [] };
}

function releaseReadyChildren(
  db: Executor,
  input: { parentId: string; settings: DagSettings; now: number },
): Task[] {
  const settled: readonly TaskStatus[] = input.settings.failFast ? ["done"] : SETTLED_TERMINAL;
  // Children of the parent still waiting, none of whose parents is unsettled.
  const ready = prepared(db, "dag:readyChildren", () => {
    const edge = alias(taskDeps, "other_edge");
    const other = alias(tasks, "other_parent");
    return db
      .select({ id: tasks.id })
      .from(taskDeps)
      .innerJoin(tasks, eq(tasks.id, taskDeps.taskId))
      .where(
        and(
          eq(taskDeps.dependsOnId, sql.placeholder("parent")),
          eq(tasks.status, "waiting"),
          notExists(
            db
              .select({ one: sql`1` })
              .from(edge)
              .innerJoin(other, eq(other.id, edge.dependsOnId))
              .where(
                and(
                  eq(edge.taskId, tasks.id),
                  sql`${other.status} not in (select value from json_each(${sql.placeholder("settled")}))`,
                ),
              ),
          ),
        ),
      )
      .prepare();
  }).all({ parent: input.parentId, settled: JSON.stringify(settled) });
  if (ready.length === 0) return [];

  // Edges first, then each distinct parent's output once: a thousand children of one parent must
  // not copy its (up to 1 MiB) output a thousand times out of SQLite.
  const edges = prepared(db, "dag:edgesOf", () =>
    db
      .select({ child: taskDeps.taskId, parent: taskDeps.dependsOnId })
      .from(taskDeps)
      .where(inJsonList(taskDeps.taskId, "ids"))
      .prepare(),
  ).all({ ids: JSON.stringify(ready.map((c) => c.id)) });
  const parentIds = [...new Set(edges.map((e) => e.parent))];
  const parents = new Map<string, ParentOutput>();
  const readParents = prepared(db, "dag:parentOutputs", () =>
    db
      .select({
        id: tasks.id,
        title: tasks.title,
        status: tasks.status,
        output: tasks.output,
        error: tasks.error,
      })
      .from(tasks)
      .where(inJsonList(tasks.id, "ids"))
      .prepare(),
  );
  for (const p of readParents.all({ ids: JSON.stringify(parentIds) })) parents.set(p.id, p);
  const parentsOf = new Map<string, ParentOutput[]>();
  for (const e of edges) {
    const p = parents.get(e.parent);
    if (!p) continue;
    const list = parentsOf.get(e.child) ?? [];
    list.push(p);
    parentsOf.set(e.child, list);
  }

  const released: Task[] = [];
  for (const child of ready) {
    // Parent ids are ULIDs: sorting puts them in creation order (pipeline steps in step order).
    const list = (parentsOf.get(child.id) ?? []).sort((a, b) => (a.id < b.id ? -1 : 1));
    const parentOutputs = buildParentOutputs({
      parents: list,
      budgetBytes: input.settings.parentOutputBudgetBytes,
    });
    try {
      released.push(
        transitionTask(db, {
          id: child.id,
          from: "waiting",
          to: "queued",
          set: { parentOutputs },
          now: input.now,
        }),
      );
    } catch (err) {
      if (err instanceof IllegalTransitionError) continue; // cancelled meanwhile
      throw err;
    }
  }
  return released;
}

function cancelWaitingDescendants(
  db: Executor,
  input: { parentId: string; outcome: "done" | "failed" | "cancelled"; now: number },
): { id: string; reason: string }[] {
  const rows = db.all<{ id: string }>(sql`
    WITH RECURSIVE descendants(id) AS (
      SELECT task_id FROM task_deps WHERE depends_on_id = ${input.parentId}
      UNION
      SELECT d.task_id FROM task_deps d JOIN descendants x ON d.depends_on_id = x.id
    )
    SELECT t.id AS id FROM descendants x JOIN tasks t ON t.id = x.id
    WHERE t.status = 'waiting'
    ORDER BY t.id`);
  const reason = `dependency ${input.parentId} ${input.outcome}`;
  const cancelled: { id: string; reason: string }[] = [];
  for (const { id } of rows) {
    try {
      transitionTask(db, {
        id,
        from: "waiting",
        to: "cancelled",
        set: { cancelReason: reason },
        now: input.now,
      });
      cancelled.push({ id, reason });
    } catch (err) {
      if (err instanceof IllegalTransitionError) continue;
      throw err;
    }
  }
  return cancelled;
}

/**
 * A handoff suspends a task and continues it in a new one: the suspended task will never be done,
 * so its dependents are moved over to wait for the continuation instead.
 */
export function repointDependents(db: Executor, input: { from: string; to: string }): number {
  return db.update(taskDeps).set({ dependsOnId: input.to }).where(eq(taskDeps.dependsOnId, input.from)).run()
    .changes;
}
