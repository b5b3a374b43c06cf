import { z } from "zod";
import { AgentIdSchema, TaskIdSchema } from "./ids";
import { boundedString, LIMITS } from "./limits";

/**
 * Driver-agnostic job options; `@m3shd/queue` maps them onto BullMQ and the in-process driver.
 * Every consumer is idempotent (it re-reads the database row), so retries are always safe.
 */
export interface JobOptions<P> {
  /** Total tries including the first. */
  attempts: number;
  backoff: { type: "fixed" | "exponential"; delayMs: number };
  /**
   * Collapses duplicates: while a job with this key is waiting, enqueueing another is a no-op.
   * Keys avoid `:` (BullMQ rejects it in custom job ids).
   */
  dedupeKey?: (payload: P) => string;
  /** For scheduled jobs: default repeat interval; apps may override it from config. */
  everyMs?: number;
}

/** One catalog entry: the payload schema and how the job is run. */
export interface JobDefinition<S extends z.ZodType> {
  schema: S;
  options: JobOptions<z.output<S>>;
  /** What the consumer does. */
  description: string;
}

function defineJob<S extends z.ZodType>(definition: JobDefinition<S>): JobDefinition<S> {
  return definition;
}

/** Sweeps run by the dispatcher on a schedule. */
export const SWEEP_KINDS = [
  "heartbeats", // agents silent past the timeout → offline, their tasks requeued
  "zombies", // tasks assigned/running past the zombie timeout → requeued or failed
  "deadlines", // urgency and priority raised as deadlines approach (every 60 s)
  "reconcile", // queued rows without a live queue job → re-enqueued
  "approvals", // pending approvals past their timeout → expired
  "pickups", // tasks assigned but not picked up within the pickup timeout → requeued
] as const;
export const SweepKindSchema = z.enum(SWEEP_KINDS);
export type SweepKind = z.infer<typeof SweepKindSchema>;

/** Alert kinds sent to ntfy. */
export const ALERT_KINDS = ["agent_down", "task_failed", "escalation_created", "budget_threshold"] as const;
export const AlertKindSchema = z.enum(ALERT_KINDS);
export type AlertKind = z.infer<typeof AlertKindSchema>;

/**
 * The queue job catalog, keyed `"<service>.<verb>"`; the part before the dot names the consuming
 * service's queue. Payloads are parsed before enqueue and again on dequeue (`parseJob`); a payload
 * that fails its schema is never retried. Payloads carry ids, not state: consumers re-read rows.
 */
export const JOBS = {
  /** Try to assign one task (a no-op unless it is still `queued`). */
  "dispatch.assign": defineJob({
    schema: z.strictObject({ taskId: TaskIdSchema }),
    options: {
      attempts: 5,
      backoff: { type: "exponential", delayMs: 200 },
      dedupeKey: (payload) => `assign-${payload.taskId}`,
    },
    description: "Assign a queued task to the best eligible agent",
  }),
  /** One sweep pass; scheduled per kind. */
  "dispatch.sweep": defineJob({
    schema: z.strictObject({ kind: SweepKindSchema }),
    options: {
      attempts: 1,
      backoff: { type: "fixed", delayMs: 1000 },
      dedupeKey: (payload) => `sweep-${payload.kind}`,
    },
    description: "Run one sweeper pass (heartbeats, zombies, deadlines, reconcile, approvals)",
  }),
  /** Scan a completed task's output for `[REMEMBER] key: value [/REMEMBER]` blocks. */
  "memory.extract": defineJob({
    schema: z.strictObject({
      taskId: TaskIdSchema,
      agentId: AgentIdSchema,
      /** The output inline when the producer has it; otherwise the consumer reads the task. */
      output: boundedString(LIMITS.outputBytes).optional(),
    }),
    options: {
      attempts: 5,
      backoff: { type: "exponential", delayMs: 1000 },
      dedupeKey: (payload) => `extract-${payload.taskId}`,
    },
    description: "Store [REMEMBER] blocks from a completed task's output",
  }),
  /** Merge duplicate memories and resolve contradictions; all agents when `agentId` is absent. */
  "memory.consolidate": defineJob({
    schema: z.strictObject({ agentId: AgentIdSchema.optional() }),
    options: {
      attempts: 3,
      backoff: { type: "exponential", delayMs: 5000 },
      dedupeKey: (payload) => `consolidate-${payload.agentId ?? "all"}`,
    },
    description: "Consolidate agent memories",
  }),
  /** Send one alert to ntfy. `dedupeKey` implements the once-per-outage / once-per-day rules. */
  "alerts.send": defineJob({
    schema: z.strictObject({
      kind: AlertKindSchema,
      title: z.string().min(1).max(LIMITS.titleChars),
      message: boundedString(4 * 1024),
      /** ntfy priority 1 (min) … 5 (max). */
      priority: z.int().min(1).max(5).default(3),
      tags: z.array(z.string().max(64)).max(10).default([]),
      /** De-duplication key, e.g. `agent_down-gpu-box-<outage start>` or `budget-<agent>-<UTC day>`. */
      dedupeKey: z.string().regex(/^[A-Za-z0-9_.-]{1,200}$/),
    }),
    options: {
      attempts: 8,
      backoff: { type: "exponential", delayMs: 2000 },
      dedupeKey: (payload) => `alert-${payload.dedupeKey}`,
    },
    description: "Deliver an alert to ntfy, retrying with backoff",
  }),
  /** Append a completed task's result to the provenance chain and Merkle log if not yet there. */
  "provenance.append": defineJob({
    schema: z.strictObject({ taskId: TaskIdSchema }),
    options: {
      attempts: 10,
      backoff: { type: "exponential", delayMs: 500 },
      dedupeKey: (payload) => `provenance-${payload.taskId}`,
    },
    description: "Sign and log a completed result (idempotent: skips tasks already in the log)",
  }),
} as const;

export type JobCatalog = typeof JOBS;
export type JobName = keyof JobCatalog;
/** Validated payload of job `N` (defaults applied). */
export type JobPayload<N extends JobName> = z.output<JobCatalog[N]["schema"]>;
/** What a producer may pass for job `N` (before defaults). */
export type JobPayloadInput<N extends JobName> = z.input<JobCatalog[N]["schema"]>;

export const JOB_NAMES = Object.keys(JOBS) as JobName[];

/** Whether `name` is a job in the catalog. */
export function isJobName(name: string): name is JobName {
  return Object.hasOwn(JOBS, name);
}

export type ParseJobResult<N extends JobName> =
  | { ok: true; name: N; payload: JobPayload<N> }
  | {
      ok: false;
      name: string;
      /** Always `false`: a payload that fails its schema fails the same way on every retry. */
      retryable: false;
      reason: "unknown_job" | "invalid_payload";
      message: string;
      issues: z.core.$ZodIssue[];
    };

/**
 * Validates a job payload (on enqueue and on dequeue). Never throws: a failure says the job must
 * be dropped (moved to failed) rather than retried.
 */
export function parseJob<N extends JobName>(name: N, payload: unknown): ParseJobResult<N>;
export function parseJob(name: string, payload: unknown): ParseJobResult<JobName>;
export function parseJob(name: string, payload: unknown): ParseJobResult<JobName> {
  if (!isJobName(name)) {
    return {
      ok: false,
      name,
      retryable: false,
      reason: "unknown_job",
      message: `Unknown job ${JSON.stringify(name)}`,
      issues: [],
    };
  }
  const result = JOBS[name].schema.safeParse(payload);
  if (!result.success) {
    return {
      ok: false,
      name,
      retryable: false,
      reason: "invalid_payload",
      message: `Invalid payload for ${name}: ${z.prettifyError(result.error)}`,
      issues: result.error.issues,
    };
  }
  return { ok: true, name, payload: result.data as JobPayload<typeof name> };
}
