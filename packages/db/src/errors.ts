import type { TaskStatus } from "@m3shd/protocol";

/**
 * Typed errors thrown by the query functions. The hub maps them to HTTP at the edge by `code`
 * (`not_found` → 404, `illegal_transition` → 409, `conflict` → 409); nothing here knows about HTTP.
 */
export abstract class DbError extends Error {
  abstract readonly code: "not_found" | "illegal_transition" | "conflict";
  /** Machine-readable context for the error body's `details`. */
  abstract readonly details: Record<string, unknown>;
}

/** A row the caller named does not exist. */
export class NotFoundError extends DbError {
  readonly code = "not_found" as const;
  readonly details: Record<string, unknown>;
  constructor(
    /** `task`, `agent`, … */
    readonly resource: string,
    readonly id: string,
  ) {
    super(`${resource} ${id} not found`);
    this.name = "NotFoundError";
    this.details = { resource, id };
  }
}

/** A task status change that the state machine forbids, or that lost a race to another writer. */
export class IllegalTransitionError extends DbError {
  readonly code = "illegal_transition" as const;
  readonly details: Record<string, unknown>;
  constructor(
    /** The status the task was in (or was assumed to be in, for a request the table rejects outright). */
    readonly from: TaskStatus,
    readonly to: TaskStatus,
    readonly taskId?: string,
  ) {
    super(`illegal task transition ${from} → ${to}${taskId === undefined ? "" : ` (task ${taskId})`}`);
    this.name = "IllegalTransitionError";
    this.details = taskId === undefined ? { from, to } : { from, to, task_id: taskId };
  }
}

/** A write that collides with existing data (duplicate id, unique key, …). */
export class ConflictError extends DbError {
  readonly code = "conflict" as const;
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "ConflictError";
  }
}

/** Whether `error` is one of this package's typed errors. */
export function isDbError(error: unknown): error is DbError {
  return error instanceof DbError;
}
