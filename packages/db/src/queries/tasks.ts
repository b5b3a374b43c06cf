import type { TaskStatus } from "@m3shd/protocol";
import { and, asc, count, desc, eq, gt, inArray, isNotNull, lt, type SQL, sql } from "drizzle-orm";
import { ConflictError, NotFoundError } from "../errors";
import { inJsonList, prepared } from "../prepared";
import { taskDeps, tasks } from "../schema";
import type { Executor } from "../types";
import { isSqliteConstraintError } from "./sqlite-errors";

export type Task = typeof tasks.$inferSelect;
export type NewTask = typeof tasks.$inferInsert;
export type TaskDep = typeof taskDeps.$inferSelect;

/** Statuses that hold one of the agent's slots. */
export const ACTIVE_TASK_STATUSES = ["assigned", "running"] as const satisfies readonly TaskStatus[];

export interface InsertTaskInput {
  /** The row, minus `status` (derived from the dependencies) and timestamps (default `now`). */
  task: Omit<NewTask, "status">;
  /** Parent task ids; the task is `waiting` until every one of them is `done`. */
  dependsOn?: readonly string[];
  now: number;
}

/**
 * Insert a task and its dependency edges in one transaction. Status is `queued`, or `waiting` when
 * any parent is not yet `done`. A new task cannot close a cycle (nothing depends on it yet), so no
 * cycle check is needed here. Throws `NotFoundError` for a missing parent and `ConflictError` for a
 * duplicate id or a self-dependency.
 */
export function insertTask(db: Executor, input: InsertTaskInput): Task {
  const parentIds = [...new Set(input.dependsOn ?? [])];
  if (parentIds.includes(input.task.id)) {
    throw new ConflictError(`task ${input.task.id} cannot depend on itself`, { task_id: input.task.id });
  }
  return db.transaction(
    (tx) => {
      let hasUnmetParent = false;
      if (parentIds.length > 0) {
        const parents = tx
          .select({ id: tasks.id, status: tasks.status })
          .from(tasks)
          .where(inArray(tasks.id, parentIds))
          .all();
        const found = new Set(parents.map((parent) => parent.id));
        const missing = parentIds.find((id) => !found.has(id));
        if (missing !== undefined) throw new NotFoundError("task", missing);
        hasUnmetParent = parents.some((parent) => parent.status !== "done");
      }
      let row: Task | undefined;
      const values: Record<string, unknown> = {
        createdAt: input.now,
        updatedAt: input.now,
        ...input.task,
        status: hasUnmetParent ? "waiting" : "queued",
      };
      const columns = Object.keys(values)
        .filter((c) => values[c] !== undefined)
        .sort();
      const insert = prepared(tx, `insertTask:${columns.join(",")}`, () =>
        tx
          .insert(tasks)
          .values(
            Object.fromEntries(
              columns.map((c) => [c, sql.placeholder(c)]),
            ) as unknown as typeof tasks.$inferInsert,
          )
          .returning()
          .prepare(),
      );
      try {
        row = insert.get(Object.fromEntries(columns.map((c) => [c, values[c]])));
      } catch (error) {
        if (isSqliteConstraintError(error, "SQLITE_CONSTRAINT_PRIMARYKEY")) {
          throw new ConflictError(`task ${input.task.id} already exists`, { task_id: input.task.id });
        }
        throw error;
      }
      if (parentIds.length > 0) {
        tx.insert(taskDeps)
          .values(
            parentIds.map((dependsOnId) => ({ taskId: input.task.id, dependsOnId, createdAt: input.now })),
          )
          .run();
      }
      if (!row) throw new Error(`insertTask: no row returned for ${input.task.id}`);
      return row;
    },
    { behavior: "immediate" },
  );
}

/** One task by id, or undefined. */
export function getTask(db: Executor, id: string): Task | undefined {
  return prepared(db, "getTask", () =>
    db
      .select()
      .from(tasks)
      .where(eq(tasks.id, sql.placeholder("id")))
      .prepare(),
  ).get({ id });
}

/** Ids of the tasks `taskId` depends on. */
export function listTaskDependencies(db: Executor, taskId: string): string[] {
  return db
    .select({ id: taskDeps.dependsOnId })
    .from(taskDeps)
    .where(eq(taskDeps.taskId, taskId))
    .all()
    .map((row) => row.id);
}

/** Ids of the tasks that depend on `taskId`. */
export function listTaskDependents(db: Executor, taskId: string): string[] {
  return db
    .select({ id: taskDeps.taskId })
    .from(taskDeps)
    .where(eq(taskDeps.dependsOnId, taskId))
    .all()
    .map((row) => row.id);
}

/** Keyset position in `listTasks` order: the last row of the previous page. */
export interface TaskCursor {
  createdAt: number;
  id: string;
}

export const LIST_TASKS_DEFAULT_LIMIT = 50;
export const LIST_TASKS_MAX_LIMIT = 500;

export interface ListTasksInput {
  status?: TaskStatus | readonly TaskStatus[];
  /** Tasks assigned to this agent (`assigned_to`). */
  agentId?: string;
  capability?: string;
  pipelineId?: string;
  /** Tasks that depend on this task (an edge `task_id → depends_on_id` in `task_deps`). */
  dependsOn?: string;
  /** Continue after this row (from the previous page's `nextCursor`). */
  cursor?: TaskCursor | null;
  /** 1 … 500, default 50; out-of-range values are clamped. */
  limit?: number;
}

export interface TaskPage {
  items: Task[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  nextCursor: TaskCursor | null;
}

/** Tasks newest first (`created_at DESC, id DESC`), filtered, with keyset pagination. */
export function listTasks(db: Executor, input: ListTasksInput = {}): TaskPage {
  const requested = input.limit ?? LIST_TASKS_DEFAULT_LIMIT;
  const limit = Number.isFinite(requested)
    ? Math.min(LIST_TASKS_MAX_LIMIT, Math.max(1, Math.trunc(requested)))
    : LIST_TASKS_DEFAULT_LIMIT;
  const conditions: SQL[] = [];
  if (input.status !== undefined) {
    const statuses: readonly TaskStatus[] = typeof input.status === "string" ? [input.status] : input.status;
    conditions.push(inArray(tasks.status, [...statuses]));
  }
  if (input.agentId !== undefined) conditions.push(eq(tasks.assignedTo, input.agentId));
  if (input.capability !== undefined) conditions.push(eq(tasks.requiredCapability, input.capability));
  if (input.pipelineId !== undefined) conditions.push(eq(tasks.pipelineId, input.pipelineId));
  if (input.dependsOn !== undefined) {
    // Served by `task_deps_depends_on_id_idx` (the edges by parent).
    const children = db
      .select({ id: taskDeps.taskId })
      .from(taskDeps)
      .where(eq(taskDeps.dependsOnId, input.dependsOn));
    conditions.push(inArray(tasks.id, children));
  }
  if (input.cursor) {
    // Row-value comparison: strictly after the cursor in (created_at DESC, id DESC) order.
    conditions.push(sql`(${tasks.createdAt}, ${tasks.id}) < (${input.cursor.createdAt}, ${input.cursor.id})`);
  }
  const rows = db
    .select()
    .from(tasks)
    .where(and(...conditions))
    .orderBy(desc(tasks.createdAt), desc(tasks.id))
    .limit(limit + 1)
    .all();
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null,
  };
}

/** Opaque string form of a cursor for the API (`?cursor=`). */
export function encodeTaskCursor(cursor: TaskCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id]), "utf8").toString("base64url");
}

/** Parse `encodeTaskCursor` output; null for anything malformed (the caller answers 400). */
export function decodeTaskCursor(value: string): TaskCursor | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      Number.isSafeInteger(parsed[0]) &&
      typeof parsed[1] === "string"
    ) {
      return { createdAt: parsed[0] as number, id: parsed[1] };
    }
  } catch {
    // Not base64url JSON: fall through to null.
  }
  return null;
}

/**
 * Queued tasks in dispatch order: highest priority first, oldest first within a priority (id breaks
 * ties so the order is total). Served by `tasks_status_priority_created_idx`.
 */
export function nextQueuedTasks(
  db: Executor,
  input: { limit: number; capability?: string; capabilities?: readonly string[] },
): Task[] {
  const conditions: SQL[] = [eq(tasks.status, "queued")];
  if (input.capability !== undefined) conditions.push(eq(tasks.requiredCapability, input.capability));
  if (input.capabilities !== undefined) {
    if (input.capabilities.length === 0) return [];
    // The dispatcher's hot query: prepared once, the capability list bound as JSON.
    if (input.capability === undefined) {
      return prepared(db, "nextQueuedTasks:capabilities", () =>
        db
          .select()
          .from(tasks)
          .where(and(eq(tasks.status, "queued"), inJsonList(tasks.requiredCapability, "caps")))
          .orderBy(desc(tasks.priority), asc(tasks.createdAt), asc(tasks.id))
          .limit(sql.placeholder("limit"))
          .prepare(),
      ).all({ caps: JSON.stringify(input.capabilities), limit: Math.max(0, Math.trunc(input.limit)) });
    }
    conditions.push(inArray(tasks.requiredCapability, [...input.capabilities]));
  }
  return db
    .select()
    .from(tasks)
    .where(and(...conditions))
    .orderBy(desc(tasks.priority), asc(tasks.createdAt), asc(tasks.id))
    .limit(Math.max(0, Math.trunc(input.limit)))
    .all();
}

/**
 * Slots in use per agent: tasks `assigned` or `running`, keyed by agent id. Agents with none are
 * absent from the map. Pass `agentIds` to restrict the count.
 */
export function countActiveTasksByAgent(db: Executor, agentIds?: readonly string[]): Map<string, number> {
  if (agentIds !== undefined && agentIds.length === 0) return new Map();
  const active = and(inArray(tasks.status, [...ACTIVE_TASK_STATUSES]), isNotNull(tasks.assignedTo));
  const rows =
    agentIds === undefined
      ? prepared(db, "countActiveTasksByAgent:all", () =>
          db
            .select({ agentId: tasks.assignedTo, active: count() })
            .from(tasks)
            .where(active)
            .groupBy(tasks.assignedTo)
            .prepare(),
        ).all()
      : prepared(db, "countActiveTasksByAgent:some", () =>
          db
            .select({ agentId: tasks.assignedTo, active: count() })
            .from(tasks)
            .where(and(active, inJsonList(tasks.assignedTo, "ids")))
            .groupBy(tasks.assignedTo)
            .prepare(),
        ).all({ ids: JSON.stringify(agentIds) });
  const result = new Map<string, number>();
  for (const row of rows) if (row.agentId !== null) result.set(row.agentId, row.active);
  return result;
}

/**
 * The agent's next task to deliver: its oldest `assigned` one, highest priority first. Prepared:
 * every long-poll asks.
 */
export function nextAssignedTask(db: Executor, agentId: string): Task | undefined {
  return prepared(db, "nextAssignedTask", () =>
    db
      .select()
      .from(tasks)
      .where(and(eq(tasks.assignedTo, sql.placeholder("agent")), eq(tasks.status, "assigned")))
      .orderBy(desc(tasks.priority), asc(tasks.assignedAt), asc(tasks.id))
      .limit(1)
      .prepare(),
  ).get({ agent: agentId });
}

/** The tasks an agent holds now (`assigned` or `running`), oldest assignment first. */
export function listHeldTasks(db: Executor, agentId: string): Task[] {
  return db
    .select()
    .from(tasks)
    .where(and(eq(tasks.assignedTo, agentId), inArray(tasks.status, [...ACTIVE_TASK_STATUSES])))
    .orderBy(asc(tasks.assignedAt), asc(tasks.id))
    .all();
}

/** Tasks still `assigned` (not picked up) since before `assignedBefore`, oldest first, at most `limit`. */
export function listUnclaimedTasks(db: Executor, input: { assignedBefore: number; limit: number }): Task[] {
  return db
    .select()
    .from(tasks)
    .where(and(eq(tasks.status, "assigned"), lt(tasks.assignedAt, input.assignedBefore)))
    .orderBy(asc(tasks.assignedAt), asc(tasks.id))
    .limit(input.limit)
    .all();
}

/** Number of tasks per status (all statuses present, zero when none). */
export function countTasksByStatus(db: Executor): Record<TaskStatus, number> {
  const rows = db.select({ status: tasks.status, n: count() }).from(tasks).groupBy(tasks.status).all();
  const result: Record<TaskStatus, number> = {
    waiting: 0,
    queued: 0,
    assigned: 0,
    running: 0,
    done: 0,
    failed: 0,
    suspended: 0,
    cancelled: 0,
    relayed: 0,
  };
  for (const row of rows) result[row.status] = row.n;
  return result;
}

/**
 * The agent's pending cancellation notices: tasks cancelled while it held them (`cancelNoticeAt`
 * set by the cancel), still naming it as assignee, noticed after `since` (older notices have
 * expired). Oldest first, at most `limit`.
 */
export function listCancelNotices(
  db: Executor,
  input: { agentId: string; since: number; limit: number },
): string[] {
  return prepared(db, "listCancelNotices", () =>
    db
      .select({ id: tasks.id })
      .from(tasks)
      .where(
        and(
          eq(tasks.assignedTo, sql.placeholder("agent")),
          isNotNull(tasks.cancelNoticeAt),
          gt(tasks.cancelNoticeAt, sql.placeholder("since")),
          eq(tasks.status, "cancelled"),
        ),
      )
      .orderBy(asc(tasks.cancelNoticeAt), asc(tasks.id))
      .limit(sql.placeholder("limit"))
      .prepare(),
  )
    .all({ agent: input.agentId, since: input.since, limit: input.limit })
    .map((row) => row.id);
}

/**
 * The agent handled these cancellation notices: clears them (only its own; ids it never held
 * change nothing). Returns how many were cleared.
 */
export function acknowledgeCancelNotices(
  db: Executor,
  input: { agentId: string; taskIds: readonly string[] },
): number {
  if (input.taskIds.length === 0) return 0;
  return db
    .update(tasks)
    .set({ cancelNoticeAt: null })
    .where(
      and(
        eq(tasks.assignedTo, input.agentId),
        isNotNull(tasks.cancelNoticeAt),
        inArray(tasks.id, [...new Set(input.taskIds)]),
      ),
    )
    .run().changes;
}
