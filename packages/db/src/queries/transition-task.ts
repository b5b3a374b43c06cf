import {
  ForbiddenError,
  isLegalTaskTransition,
  StaleAttemptError,
  TASK_TRANSITIONS,
  type TaskStatus,
} from "@m3shd/protocol";
import { and, eq, sql } from "drizzle-orm";
import { IllegalTransitionError, NotFoundError } from "../errors";
import { inJsonList, prepared } from "../prepared";
import { tasks } from "../schema";
import type { Executor } from "../types";
import type { NewTask, Task } from "./tasks";

/** Columns a transition may set besides `status`/`updated_at` (which it always sets itself). */
export type TaskTransitionSet = Partial<Omit<NewTask, "id" | "status" | "createdAt" | "updatedAt">>;

export interface TransitionTaskInput {
  id: string;
  /** The status(es) the caller believes the task is in; the update applies only if it still is. */
  from: TaskStatus | readonly TaskStatus[];
  to: TaskStatus;
  /** Extra columns to write in the same statement (output, error, assignedTo, attempts, …). */
  set?: TaskTransitionSet;
  /**
   * Fencing in the statement itself: the update applies only while the task is still held by
   * `assignedTo` under `attempt`. A check made on an earlier read is not enough once several
   * processes write the file (a hub completing while a dispatcher reclaims); this one is atomic.
   * On a mismatch it throws `ForbiddenError` (another holder) or `StaleAttemptError`.
   */
  match?: { assignedTo?: string | null | undefined; attempt?: number | undefined };
  /** Epoch ms (injectable clock). */
  now: number;
}

/** Terminal states stamp `completed_at`. */
const TERMINAL: ReadonlySet<TaskStatus> = new Set(["done", "failed", "suspended", "cancelled"]);

/**
 * Columns each target status implies, applied before `set` (so `set` can override them). Going back
 * to `queued` clears the assignment: a queued task has no agent, and slot counting relies on that.
 */
function impliedColumns(to: TaskStatus, now: number): TaskTransitionSet {
  switch (to) {
    case "assigned":
      return { assignedAt: now };
    case "running":
      return { startedAt: now };
    case "queued":
      return { assignedTo: null, assignedAt: null, startedAt: null };
    default:
      return TERMINAL.has(to) ? { completedAt: now } : {};
  }
}

/**
 * The only way a task's status changes. Validates every `from → to` against protocol's
 * `TASK_TRANSITIONS` (throws `IllegalTransitionError` before touching the database), then runs
 * `UPDATE tasks SET status = to, … WHERE id = ? AND status IN (from…)` in a transaction and checks
 * that it changed a row. If it did not, the task is missing (`NotFoundError`) or another writer moved
 * it first (`IllegalTransitionError` naming the status it is actually in). Returns the updated row.
 */
export function transitionTask(db: Executor, input: TransitionTaskInput): Task {
  const from: readonly TaskStatus[] = typeof input.from === "string" ? [input.from] : input.from;
  if (from.length === 0) throw new TypeError("transitionTask: `from` must name at least one status");
  for (const status of from) {
    if (!(status in TASK_TRANSITIONS))
      throw new TypeError(`transitionTask: unknown status ${String(status)}`);
    if (!isLegalTaskTransition(status, input.to))
      throw new IllegalTransitionError(status, input.to, input.id);
  }
  const values = {
    ...impliedColumns(input.to, input.now),
    ...input.set,
    status: input.to,
    updatedAt: input.now,
  };
  if (input.to === "assigned" && !values.assignedTo) {
    // Also a CHECK in the schema; failing here gives the caller a clear message instead of a constraint error.
    throw new TypeError("transitionTask: a transition to `assigned` must set `assignedTo`");
  }

  const matchHolder = typeof input.match?.assignedTo === "string";
  const matchAttempt = input.match?.attempt !== undefined;

  // One prepared statement per shape of `set` (which columns are written) and of `match`.
  const columns = Object.keys(values).sort() as (keyof typeof values)[];
  const update = prepared(
    db,
    `transitionTask:${columns.join(",")}:${matchHolder ? "h" : ""}${matchAttempt ? "a" : ""}`,
    () => {
      const where = [eq(tasks.id, sql.placeholder("id")), inJsonList(tasks.status, "from")];
      if (matchHolder) where.push(eq(tasks.assignedTo, sql.placeholder("m_holder")));
      if (matchAttempt) where.push(eq(tasks.attempt, sql.placeholder("m_attempt")));
      return db
        .update(tasks)
        .set(Object.fromEntries(columns.map((c) => [c, sql.placeholder(`v_${c}`)])))
        .where(and(...where))
        .returning()
        .prepare();
    },
  );
  const params: Record<string, unknown> = { id: input.id, from: JSON.stringify(from) };
  for (const c of columns) params[`v_${c}`] = values[c];
  if (matchHolder) params.m_holder = input.match?.assignedTo;
  if (matchAttempt) params.m_attempt = input.match?.attempt;
  const current = prepared(db, "transitionTask:current", () =>
    db
      .select({ status: tasks.status, assignedTo: tasks.assignedTo, attempt: tasks.attempt })
      .from(tasks)
      .where(eq(tasks.id, sql.placeholder("id")))
      .prepare(),
  );

  return db.transaction(
    () => {
      const updated = update.get(params);
      if (updated) return updated;
      const now = current.get({ id: input.id });
      if (!now) throw new NotFoundError("task", input.id);
      if (!from.includes(now.status)) throw new IllegalTransitionError(now.status, input.to, input.id);
      if (matchHolder && now.assignedTo !== input.match?.assignedTo)
        throw new ForbiddenError(`Task ${input.id} is not assigned to agent ${input.match?.assignedTo}`, {
          task_id: input.id,
        });
      throw new StaleAttemptError(input.id, input.match?.attempt ?? -1, now.attempt);
    },
    { behavior: "immediate" },
  );
}
