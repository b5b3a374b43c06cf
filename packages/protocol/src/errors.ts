import { z } from "zod";
import type { TaskStatus } from "./enums";

/** Every error code a service may put on the wire. */
export const ERROR_CODES = [
  "bad_request", // malformed request: unparsable JSON, wrong content type semantics
  "validation_failed", // well-formed but fails its schema
  "unauthorized", // no or invalid credentials
  "forbidden", // authenticated but not allowed (missing permission, another agent's task)
  "not_found",
  "conflict", // state conflict: duplicate, dependency cycle, stale precondition
  "illegal_transition", // the task state machine refuses the move
  "stale_attempt", // a worker write carries an attempt (lease) that is no longer the task's current one
  "payload_too_large",
  "unsupported_media_type",
  "rate_limited",
  "unavailable", // a dependency is down or the service is shutting down
  "internal",
] as const;
export const ErrorCodeSchema = z.enum(ERROR_CODES);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

/** The one error envelope every service answers with. */
export const ErrorBodySchema = z.object({
  error: z.object({
    code: ErrorCodeSchema,
    /** Human-readable; never contains secrets or stack traces. */
    message: z.string(),
    /** Machine-readable context: zod issues, the offending limit, the refused transition… */
    details: z.unknown().optional(),
    /** Id of the request in the server's logs. */
    request_id: z.string().optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** The HTTP status for an error code. Exhaustive: a new code fails to compile until mapped. */
export function httpStatusForErrorCode(code: ErrorCode): number {
  switch (code) {
    case "bad_request":
      return 400;
    case "unauthorized":
      return 401;
    case "forbidden":
      return 403;
    case "not_found":
      return 404;
    case "conflict":
    case "illegal_transition":
    case "stale_attempt":
      return 409;
    case "payload_too_large":
      return 413;
    case "unsupported_media_type":
      return 415;
    case "validation_failed":
      return 422;
    case "rate_limited":
      return 429;
    case "internal":
      return 500;
    case "unavailable":
      return 503;
    default: {
      const unreachable: never = code;
      throw new Error(`Unmapped error code: ${String(unreachable)}`);
    }
  }
}

/**
 * Brand shared by every `M3shdError`. `instanceof` alone is not enough: an app that loads both the
 * ESM and the CommonJS build (or two copies of this package) has two distinct classes.
 */
const ERROR_BRAND = Symbol.for("@m3shd/protocol.error");

/** Base of the typed errors services throw; mapped to the error envelope only at the edge. */
export class M3shdError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
    Object.defineProperty(this, ERROR_BRAND, { value: true });
  }

  /** HTTP status for this error's code. */
  get status(): number {
    return httpStatusForErrorCode(this.code);
  }
}

/** Whether `err` is an `M3shdError` from any copy of this package. */
export function isM3shdError(err: unknown): err is M3shdError {
  return (
    err instanceof M3shdError ||
    (typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[ERROR_BRAND] === true)
  );
}

/** A resource (task, agent, message…) does not exist, or the caller may not know it exists. */
export class NotFoundError extends M3shdError {
  constructor(resource: string, id: string) {
    super("not_found", `${resource} ${id} not found`, { resource, id });
  }
}

/** The request conflicts with current state: duplicate, dependency cycle, stale precondition. */
export class ConflictError extends M3shdError {
  constructor(message: string, details?: unknown) {
    super("conflict", message, details);
  }
}

/** The task state machine refused `from → to`. */
export class IllegalTransitionError extends M3shdError {
  readonly from: TaskStatus;
  readonly to: TaskStatus;

  constructor(from: TaskStatus, to: TaskStatus, taskId?: string) {
    super("illegal_transition", `Illegal task transition ${from} → ${to}${taskId ? ` for ${taskId}` : ""}`, {
      from,
      to,
      ...(taskId ? { task_id: taskId } : {}),
    });
    this.from = from;
    this.to = to;
  }
}

/**
 * A worker write (stream, complete, fail, handoff) from an attempt (lease) that is no longer the
 * task's current one: the task was reclaimed and claimed again since. The write is refused (409)
 * so a late result from an earlier execution never overwrites the current one.
 */
export class StaleAttemptError extends M3shdError {
  readonly attempt: number;
  readonly currentAttempt: number;

  constructor(taskId: string, attempt: number, currentAttempt: number) {
    super(
      "stale_attempt",
      `Attempt ${attempt} of task ${taskId} is stale: the task's current attempt is ${currentAttempt}`,
      { task_id: taskId, attempt, current_attempt: currentAttempt },
    );
    this.attempt = attempt;
    this.currentAttempt = currentAttempt;
  }
}

/** Authenticated, but not allowed: missing permission, or acting on another agent's task. */
export class ForbiddenError extends M3shdError {
  constructor(message = "Forbidden", details?: unknown) {
    super("forbidden", message, details);
  }
}

/** Missing, malformed, revoked or unknown credentials. */
export class UnauthorizedError extends M3shdError {
  constructor(message = "Unauthorized") {
    super("unauthorized", message);
  }
}

/** One zod issue as it appears in `details.issues`. */
export interface ValidationIssue {
  path: (string | number)[];
  code: string;
  message: string;
}

/** Flattens zod issues into plain, JSON-safe objects (symbol path keys become strings). */
export function toValidationIssues(error: z.core.$ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map((key) => (typeof key === "symbol" ? String(key) : key)),
    code: issue.code,
    message: issue.message,
  }));
}

/** Input failed its schema; `details.issues` lists what and where. */
export class ValidationError extends M3shdError {
  constructor(message: string, issues: ValidationIssue[] = []) {
    super("validation_failed", message, { issues });
  }

  /** From a failed `safeParse`. */
  static fromZod(error: z.core.$ZodError, message = "Validation failed"): ValidationError {
    return new ValidationError(message, toValidationIssues(error));
  }
}

/** An input exceeded one of `LIMITS` (body size, field bytes, list sizes). */
export class LimitExceededError extends M3shdError {
  constructor(limit: string, max: number, actual?: number) {
    super("payload_too_large", `${limit} exceeds the limit of ${max}`, {
      limit,
      max,
      ...(actual === undefined ? {} : { actual }),
    });
  }
}

/** Too many requests; the edge sets `Retry-After` from `retryAfterSeconds`. */
export class RateLimitedError extends M3shdError {
  readonly retryAfterSeconds: number;

  constructor(retryAfterSeconds: number, message = "Rate limit exceeded") {
    super("rate_limited", message, { retry_after_s: retryAfterSeconds });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** A dependency (database, Redis, memory service) is unreachable. */
export class UnavailableError extends M3shdError {
  constructor(message = "Service unavailable", details?: unknown) {
    super("unavailable", message, details);
  }
}

function isZodError(err: unknown): err is z.core.$ZodError {
  return (
    err instanceof z.core.$ZodError ||
    (typeof err === "object" &&
      err !== null &&
      (err as { name?: unknown }).name === "ZodError" &&
      Array.isArray((err as { issues?: unknown }).issues))
  );
}

/**
 * The error envelope for anything thrown. Typed errors keep their code, message and details; a
 * `ZodError` becomes `validation_failed`; anything else becomes `internal` with a generic message
 * (the original is for the log, never the client).
 */
export function toErrorBody(err: unknown, requestId?: string): ErrorBody {
  const withRequestId = requestId === undefined ? {} : { request_id: requestId };
  if (isM3shdError(err)) {
    return {
      error: {
        code: err.code,
        message: err.message,
        ...(err.details === undefined ? {} : { details: err.details }),
        ...withRequestId,
      },
    };
  }
  if (isZodError(err)) {
    return {
      error: {
        code: "validation_failed",
        message: "Validation failed",
        details: { issues: toValidationIssues(err) },
        ...withRequestId,
      },
    };
  }
  return { error: { code: "internal", message: "Internal error", ...withRequestId } };
}
