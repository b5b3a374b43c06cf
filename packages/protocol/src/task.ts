import { z } from "zod";
import { SignedResultEnvelopeSchema } from "./contribution";
import {
  BreakerStateSchema,
  PRIORITY_DEFAULT,
  PRIORITY_MAX,
  PRIORITY_MIN,
  TaskStatusSchema,
  UrgencySchema,
} from "./enums";
import { AgentIdSchema, CapabilitySchema, EpochMsSchema, TaskIdSchema } from "./ids";
import { boundedString, LIMITS } from "./limits";
import { CursorSchema, ListLimitSchema } from "./pagination";
import { PromptPartsSchema } from "./prompt";

/** Task priority, 1 (lowest) … 10 (highest). */
export const PrioritySchema = z.int().min(PRIORITY_MIN).max(PRIORITY_MAX);
export type Priority = z.infer<typeof PrioritySchema>;

/** Self-reported confidence of a result, 0 … 1. */
export const ConfidenceSchema = z.number().min(0).max(1);

/** Token usage of one task execution, as the provider reported it. */
export const UsageSchema = z.strictObject({
  input_tokens: z.int().min(0),
  output_tokens: z.int().min(0),
  /** Input tokens served from the provider's prompt cache (a subset of `input_tokens`), if reported. */
  cached_input_tokens: z.int().min(0).optional(),
});
export type Usage = z.infer<typeof UsageSchema>;

/** How the dispatcher picked the winner. */
export const ASSIGNMENT_STRATEGIES = [
  "assign_to", // the task named an agent (`assign_to`) and it had capacity and a closed breaker
  "ucb", // highest UCB score among eligible candidates, ties broken by free slots
] as const;
export const AssignmentStrategySchema = z.enum(ASSIGNMENT_STRATEGIES);
export type AssignmentStrategy = z.infer<typeof AssignmentStrategySchema>;

/** One agent the dispatcher considered for a task. */
export const AssignmentCandidateSchema = z.object({
  agent_id: AgentIdSchema,
  /** UCB score over the agent's per-capability history (higher wins). */
  score: z.number(),
  free_slots: z.int().min(0),
  breaker: BreakerStateSchema,
  /** Past successes / failures of this agent on this capability. */
  successes: z.int().min(0),
  failures: z.int().min(0),
});
export type AssignmentCandidate = z.infer<typeof AssignmentCandidateSchema>;

/** Why a task went where it went: kept on the task and carried by `task_assigned`. */
export const AssignmentSchema = z.object({
  candidates: z.array(AssignmentCandidateSchema),
  winner: AgentIdSchema,
  strategy: AssignmentStrategySchema,
  decided_at: EpochMsSchema,
});
export type Assignment = z.infer<typeof AssignmentSchema>;

/**
 * A task as returned by the API. `prompt` is exactly what was submitted, byte for byte, and never
 * rewritten; what the worker receives is `composed_prompt`, built from it and `prompt_parts`.
 */
export const TaskSchema = z.object({
  id: TaskIdSchema,
  title: z.string(),
  /** The prompt as submitted (a continuation: its original task's submitted prompt). */
  prompt: z.string(),
  /** Context composed with `prompt` at pickup: recalled memory, parent outputs, handoffs. */
  prompt_parts: PromptPartsSchema,
  /**
   * `prompt` composed with its parts (`composeTaskPrompt`): what the worker receives. In a task
   * view the memory block is left out (the hub never stores it); in the claim response to the
   * agent it was recalled for, it is included. Unbounded: parent and partial outputs may exceed
   * the 8 KB an operator may submit.
   */
  composed_prompt: z.string(),
  required_capability: CapabilitySchema,
  priority: PrioritySchema,
  /** Deadline (ms); the deadline sweeper raises `urgency` (and `priority`) as it approaches. */
  deadline: EpochMsSchema.nullable(),
  urgency: UrgencySchema,
  status: TaskStatusSchema,
  /** Agent the operator asked for; the dispatcher honours it when that agent has capacity. */
  assign_to: AgentIdSchema.nullable(),
  /** Agent currently (or last) holding the task. */
  assigned_to: AgentIdSchema.nullable(),
  output: z.string().nullable(),
  /** Failure message, or the cancel reason for a cancelled task. */
  error: z.string().nullable(),
  /** Executions started so far (pickups), including the current one. */
  attempts: z.int().min(0),
  /**
   * The current attempt (lease) number: 0 before the first claim, one more on every claim. Worker
   * writes carry it; a write from another attempt is refused with 409 `stale_attempt`.
   */
  attempt: z.int().min(0),
  max_attempts: z.int().min(1).max(LIMITS.maxAttemptsMax),
  confidence: ConfidenceSchema.nullable(),
  /** Parent task ids; the task stays `waiting` until all are `done`. */
  depends_on: z.array(TaskIdSchema),
  /** Model that produced the output, as the worker reported it. */
  model: z.string().nullable(),
  usage: UsageSchema.nullable(),
  cost_usd: z.number().min(0).nullable(),
  /** The dispatcher's reasoning for the latest assignment; `null` until first assigned. */
  assignment: AssignmentSchema.nullable(),
  /** For a continuation: the suspended task it carries on from. */
  continuation_of: TaskIdSchema.nullable(),
  /** For a suspended task: the continuation created by its handoff. */
  continued_by: TaskIdSchema.nullable(),
  /** Partial output handed off by the previous agent (on the suspended task). */
  partial_output: z.string().nullable(),
  /**
   * Agent memory injected at pickup: `injected` (with the block's size in characters), `none`
   * (nothing matched), `unavailable` (the memory service was down; the task ran without) or
   * `disabled`. Null before pickup.
   */
  memory: z
    .object({ status: z.enum(["injected", "none", "unavailable", "disabled"]), chars: z.int().min(0) })
    .nullable()
    .optional(),
  created_at: EpochMsSchema,
  updated_at: EpochMsSchema,
  assigned_at: EpochMsSchema.nullable(),
  started_at: EpochMsSchema.nullable(),
  completed_at: EpochMsSchema.nullable(),
});
export type Task = z.infer<typeof TaskSchema>;

/**
 * A deadline on input: epoch milliseconds, or an ISO 8601 date-time with an explicit offset
 * (`Z` or `±hh:mm`; local times are ambiguous and rejected). Output is always epoch ms.
 * Whether it lies in the future is checked by the service, which owns the clock.
 */
export const DeadlineInputSchema = z
  .union([EpochMsSchema, z.iso.datetime({ offset: true })])
  .transform((value) => (typeof value === "number" ? value : Date.parse(value)));

/** `POST /api/tasks`. */
export const CreateTaskBodySchema = z.strictObject({
  title: z.string().trim().min(1).max(LIMITS.titleChars),
  /** At most `LIMITS.promptBytes` (8 KB) UTF-8 bytes. */
  prompt: boundedString(LIMITS.promptBytes).min(1),
  required_capability: CapabilitySchema,
  priority: PrioritySchema.default(PRIORITY_DEFAULT),
  /** Ask for a specific agent. */
  assign_to: AgentIdSchema.optional(),
  deadline: DeadlineInputSchema.optional(),
  /** Parents (≤ 100, unique); the task waits until all are done. */
  depends_on: z
    .array(TaskIdSchema)
    .max(LIMITS.dependsOnMax)
    .refine((list) => new Set(list).size === list.length, "depends_on must not repeat a task id")
    .default([]),
  max_attempts: z.int().min(1).max(LIMITS.maxAttemptsMax).default(LIMITS.maxAttemptsDefault),
  /**
   * Makes a retried creation safe: the same key from the same caller returns the task created the
   * first time (200) instead of a new one; the same key with a different request is a 409. For
   * example the iMessage bridge sends the message GUID, because it delivers at least once.
   */
  idempotency_key: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[\x21-\x7e]+$/, "printable ASCII without spaces")
    .optional(),
});
/** Validated (output) shape: defaults applied, deadline in ms. */
export type CreateTaskBody = z.output<typeof CreateTaskBodySchema>;
/** What a client may send. */
export type CreateTaskInput = z.input<typeof CreateTaskBodySchema>;

/** `GET /api/tasks` query. Query values arrive as strings; `limit` is coerced. */
export const ListTasksQuerySchema = z.strictObject({
  status: TaskStatusSchema.optional(),
  /** Tasks assigned to this agent. */
  agent: AgentIdSchema.optional(),
  capability: CapabilitySchema.optional(),
  /** Tasks that list this task among their parents (its direct dependents in the DAG). */
  depends_on: TaskIdSchema.optional(),
  cursor: CursorSchema.optional(),
  limit: ListLimitSchema,
});
export type ListTasksQuery = z.output<typeof ListTasksQuerySchema>;

/** `GET /api/tasks` response. Newest first; `next_cursor` is `null` on the last page. */
export const TaskListResponseSchema = z.object({
  tasks: z.array(TaskSchema),
  next_cursor: CursorSchema.nullable(),
});
export type TaskListResponse = z.infer<typeof TaskListResponseSchema>;

/** `GET /api/agents/:id/tasks/next?wait=N` query: long-poll up to `N` ≤ 30 seconds (0 = answer now). */
export const NextTaskQuerySchema = z.strictObject({
  wait: z.coerce.number<string | number>().int().min(0).max(LIMITS.longPollMaxSeconds).default(0),
});
export type NextTaskQuery = z.output<typeof NextTaskQuerySchema>;

/** A worker write's attempt (lease) number, as the claim returned it. */
export const AttemptSchema = z.int().min(1);

/** One chunk of streamed output as stored and replayed. */
export const StreamChunkSchema = z.object({
  /** The attempt (lease) that streamed it; each attempt's chunks are kept. */
  attempt: AttemptSchema,
  /** Position in the attempt's stream, from 0, gap-free. */
  seq: z.int().min(0),
  content: z.string(),
});
export type StreamChunk = z.infer<typeof StreamChunkSchema>;

/** `POST /api/tasks/:id/stream` (assigned agent only). */
export const StreamChunkBodySchema = z.strictObject({
  /** At most `LIMITS.streamChunkBytes` (64 KB) UTF-8 bytes. */
  content: boundedString(LIMITS.streamChunkBytes).min(1),
  /** The attempt the claim opened; another attempt's chunk is refused with 409 `stale_attempt`. */
  attempt: AttemptSchema,
  /**
   * Worker-side sequence number within the attempt. When given, the hub ignores a chunk whose
   * `seq` it already has for this attempt (a retried POST); when omitted, the hub appends at the
   * next position.
   */
  seq: z.int().min(0).optional(),
});
export type StreamChunkBody = z.infer<typeof StreamChunkBodySchema>;

const completionCommon = {
  /** The attempt the claim opened; another attempt's completion is refused with 409 `stale_attempt`. */
  attempt: AttemptSchema,
  usage: UsageSchema.optional(),
  model: z.string().trim().min(1).max(LIMITS.nameChars).optional(),
};

/** `PUT /api/tasks/:id` with `status: "done"`. */
export const CompleteTaskDoneBodySchema = z.strictObject({
  status: z.literal("done"),
  /** At most `LIMITS.outputBytes` (1 MiB) UTF-8 bytes. */
  output: boundedString(LIMITS.outputBytes),
  ...completionCommon,
  confidence: ConfidenceSchema.optional(),
  /** Worker's cost estimate; the hub may recompute it from its own price table. */
  cost_usd: z.number().min(0).optional(),
  /**
   * The node's signed result envelope (see `ResultEnvelopeSchema`). Required once the agent has a
   * bound key (or when the hub requires signed results); a result without one is otherwise
   * accepted and marked `unsigned` in the ledger.
   */
  envelope: SignedResultEnvelopeSchema.optional(),
});

/** `PUT /api/tasks/:id` with `status: "failed"`. */
export const CompleteTaskFailedBodySchema = z.strictObject({
  status: z.literal("failed"),
  /** At most `LIMITS.errorBytes` (8 KB) UTF-8 bytes. */
  error: boundedString(LIMITS.errorBytes).min(1),
  ...completionCommon,
  /**
   * Whether another attempt may succeed (default `true`). `false` fails the task at once even with
   * attempts left, e.g. for a prompt the model refuses or a job input that cannot parse.
   */
  retryable: z.boolean().default(true),
});

/** `PUT /api/tasks/:id` (assigned agent only): complete or fail, discriminated on `status`. */
export const CompleteTaskBodySchema = z.discriminatedUnion("status", [
  CompleteTaskDoneBodySchema,
  CompleteTaskFailedBodySchema,
]);
export type CompleteTaskBody = z.output<typeof CompleteTaskBodySchema>;
export type CompleteTaskInput = z.input<typeof CompleteTaskBodySchema>;

/** `POST /api/tasks/:id/handoff` (assigned agent only). */
export const HandoffBodySchema = z.strictObject({
  /** Work done so far, at most `LIMITS.handoffPartialBytes` (32 KB) UTF-8 bytes; may be empty. */
  partial_output: boundedString(LIMITS.handoffPartialBytes),
  reason: boundedString(LIMITS.reasonBytes).optional(),
  /** The attempt the claim opened; another attempt's handoff is refused with 409 `stale_attempt`. */
  attempt: AttemptSchema,
});
export type HandoffBody = z.infer<typeof HandoffBodySchema>;

/** `POST /api/tasks/:id/handoff` response: the suspended task and its continuation. */
export const HandoffResponseSchema = z.object({
  suspended: TaskSchema,
  continuation: TaskSchema,
});
export type HandoffResponse = z.infer<typeof HandoffResponseSchema>;

/** `POST /api/tasks/:id/cancel`. An empty body means `{}`. */
export const CancelTaskBodySchema = z.strictObject({
  reason: boundedString(LIMITS.reasonBytes).optional(),
});
export type CancelTaskBody = z.infer<typeof CancelTaskBodySchema>;
