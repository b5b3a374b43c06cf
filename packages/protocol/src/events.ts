import { z } from "zod";
import { AgentSchema } from "./agent";
import { BreakerStateSchema, UrgencySchema } from "./enums";
import { AgentIdSchema, EpochMsSchema, EventIdSchema, Sha256HexSchema, TaskIdSchema } from "./ids";
import { MessageSchema } from "./message";
import { PluginInvokedDataSchema } from "./plugin";
import { AssignmentSchema, ConfidenceSchema, PrioritySchema, TaskSchema, UsageSchema } from "./task";
import { ApprovalSchema, EscalationSchema } from "./workflow";

/**
 * Builds one member of the event union: `{ type, id, ts, data }`. The SSE frame carries the same
 * `id` on its `id:` line and `type` on its `event:` line; `data:` is the whole JSON object.
 */
function defineEvent<T extends string, D extends z.ZodType>(type: T, data: D) {
  return z.object({
    type: z.literal(type),
    /** Event id: echoed back as `Last-Event-ID` to resume from the hub's replay buffer. */
    id: EventIdSchema,
    /** Emission time (ms). */
    ts: EpochMsSchema,
    data,
  });
}

// Tasks

export const TaskCreatedEventSchema = defineEvent("task_created", z.object({ task: TaskSchema }));

export const TaskAssignedEventSchema = defineEvent(
  "task_assigned",
  z.object({
    task_id: TaskIdSchema,
    agent_id: AgentIdSchema,
    /** Why this agent: candidates, scores, free slots, breakers, winner. */
    assignment: AssignmentSchema,
  }),
);

/** The assigned agent's long-poll delivered the task; it is now `running`. */
export const TaskStartedEventSchema = defineEvent(
  "task_started",
  z.object({ task_id: TaskIdSchema, agent_id: AgentIdSchema, attempt: z.int().min(1) }),
);

export const TaskChunkEventSchema = defineEvent(
  "task_chunk",
  z.object({
    task_id: TaskIdSchema,
    agent_id: AgentIdSchema,
    /** The attempt (lease) that streamed the chunk; `seq` counts from 0 within it. */
    attempt: z.int().min(1),
    seq: z.int().min(0),
    content: z.string(),
  }),
);

/** Output is not repeated here (it may be 1 MiB); fetch `GET /api/tasks/:id` for it. */
export const TaskCompletedEventSchema = defineEvent(
  "task_completed",
  z.object({
    task_id: TaskIdSchema,
    agent_id: AgentIdSchema,
    /** UTF-8 size of the output. */
    output_bytes: z.int().min(0),
    confidence: ConfidenceSchema.nullable(),
    usage: UsageSchema.nullable(),
    model: z.string().nullable(),
    cost_usd: z.number().min(0).nullable(),
  }),
);

/**
 * An attempt failed. `final: true` means the task is now `failed`; otherwise it is requeued (a
 * `task_requeued` with reason `retry` follows).
 */
export const TaskFailedEventSchema = defineEvent(
  "task_failed",
  z.object({
    task_id: TaskIdSchema,
    agent_id: AgentIdSchema.nullable(),
    error: z.string(),
    attempts: z.int().min(0),
    max_attempts: z.int().min(1),
    final: z.boolean(),
  }),
);

export const TaskHandoffEventSchema = defineEvent(
  "task_handoff",
  z.object({
    /** The task now `suspended`. */
    task_id: TaskIdSchema,
    agent_id: AgentIdSchema,
    /** The continuation created to carry on. */
    continuation_id: TaskIdSchema,
    reason: z.string().nullable(),
    partial_output_bytes: z.int().min(0),
  }),
);

export const TaskCancelledEventSchema = defineEvent(
  "task_cancelled",
  z.object({
    task_id: TaskIdSchema,
    reason: z.string().nullable(),
    /** Who cancelled (`user:<name>`, `operator`, `system`). */
    cancelled_by: z.string().nullable(),
    /** Set when cancelled because this ancestor failed or was cancelled (fail-fast DAGs). */
    cause_task_id: TaskIdSchema.nullable(),
  }),
);

/** Why a task went back to `queued`. */
export const REQUEUE_REASONS = [
  "retry", // an attempt failed with attempts left
  "agent_offline", // its agent missed heartbeats
  "zombie", // assigned/running past the zombie timeout
  "restarted", // its agent re-registered as a new worker instance (the old process is gone)
  "pickup_timeout", // assigned but not picked up within the pickup timeout
  "peer_returned", // a peer hub gave a relayed task back
  "invalid_result", // the validator found its result wrong: it re-runs on another node
  "released", // its last dependency completed (`waiting` → `queued`)
] as const;
export const RequeueReasonSchema = z.enum(REQUEUE_REASONS);
export type RequeueReason = z.infer<typeof RequeueReasonSchema>;

export const TaskRequeuedEventSchema = defineEvent(
  "task_requeued",
  z.object({
    task_id: TaskIdSchema,
    reason: RequeueReasonSchema,
    /** Agent that held it, if any. */
    previous_agent_id: AgentIdSchema.nullable(),
    attempts: z.int().min(0),
  }),
);

export const TaskUrgencyChangedEventSchema = defineEvent(
  "task_urgency_changed",
  z.object({
    task_id: TaskIdSchema,
    from: UrgencySchema,
    to: UrgencySchema,
    /** Priority after the bump. */
    priority: PrioritySchema,
    deadline: EpochMsSchema,
  }),
);

// Agents

/** An agent registered, came back, or left `busy` (a slot freed). */
export const AgentOnlineEventSchema = defineEvent("agent_online", z.object({ agent: AgentSchema }));

export const AgentOfflineEventSchema = defineEvent(
  "agent_offline",
  z.object({
    agent_id: AgentIdSchema,
    /** Last heartbeat or long-poll (ms). */
    last_seen_at: EpochMsSchema.nullable(),
    /** Tasks taken back from it and requeued. */
    requeued_task_ids: z.array(TaskIdSchema),
  }),
);

/** Every slot of the agent is taken. */
export const AgentBusyEventSchema = defineEvent(
  "agent_busy",
  z.object({
    agent_id: AgentIdSchema,
    active_tasks: z.int().min(0),
    max_concurrent: z.int().min(1),
  }),
);

export const AgentBreakerEventSchema = defineEvent(
  "agent_breaker",
  z.object({
    agent_id: AgentIdSchema,
    from: BreakerStateSchema,
    to: BreakerStateSchema,
    /** Consecutive failures at the time of the transition. */
    failures: z.int().min(0),
  }),
);

// Provenance

export const ProvenanceAppendedEventSchema = defineEvent(
  "provenance_appended",
  z.object({
    task_id: TaskIdSchema,
    agent_id: AgentIdSchema,
    /** Chain link index and hash. */
    chain_index: z.int().min(0),
    hash: Sha256HexSchema,
    /** Merkle leaf index, and the log's size and root after the append. */
    leaf_index: z.int().min(0),
    tree_size: z.int().min(1),
    root: Sha256HexSchema,
  }),
);

// Stream control

/**
 * Final event to a subscriber whose queue hit its cap: the hub closes the stream right after.
 * Reconnect with `Last-Event-ID` to resume from the replay buffer.
 */
export const SubscriberDroppedEventSchema = defineEvent(
  "subscriber_dropped",
  z.object({
    reason: z.literal("slow_consumer"),
    /** The per-subscriber queue cap that was reached. */
    queue_limit: z.int().min(1),
  }),
);

// Workflows (messages, approvals, escalations)

export const MessageCreatedEventSchema = defineEvent("message_created", z.object({ message: MessageSchema }));

export const ApprovalRequestedEventSchema = defineEvent(
  "approval_requested",
  z.object({ approval: ApprovalSchema }),
);

/** Approved or rejected: see `approval.status`. */
export const ApprovalDecidedEventSchema = defineEvent(
  "approval_decided",
  z.object({ approval: ApprovalSchema }),
);

export const ApprovalExpiredEventSchema = defineEvent(
  "approval_expired",
  z.object({ approval: ApprovalSchema }),
);

export const EscalationCreatedEventSchema = defineEvent(
  "escalation_created",
  z.object({ escalation: EscalationSchema }),
);

export const EscalationResolvedEventSchema = defineEvent(
  "escalation_resolved",
  z.object({ escalation: EscalationSchema }),
);

// Plugins

/** An agent's tool call ran (`POST /api/plugins/:tool/invoke`), successfully or not. */
export const PluginInvokedEventSchema = defineEvent("plugin_invoked", PluginInvokedDataSchema);

/** Every event the hub streams on `GET /api/stream`, discriminated on `type`. */
export const MeshEventSchema = z.discriminatedUnion("type", [
  TaskCreatedEventSchema,
  TaskAssignedEventSchema,
  TaskStartedEventSchema,
  TaskChunkEventSchema,
  TaskCompletedEventSchema,
  TaskFailedEventSchema,
  TaskHandoffEventSchema,
  TaskCancelledEventSchema,
  TaskRequeuedEventSchema,
  TaskUrgencyChangedEventSchema,
  AgentOnlineEventSchema,
  AgentOfflineEventSchema,
  AgentBusyEventSchema,
  AgentBreakerEventSchema,
  ProvenanceAppendedEventSchema,
  SubscriberDroppedEventSchema,
  MessageCreatedEventSchema,
  ApprovalRequestedEventSchema,
  ApprovalDecidedEventSchema,
  ApprovalExpiredEventSchema,
  EscalationCreatedEventSchema,
  EscalationResolvedEventSchema,
  PluginInvokedEventSchema,
]);
export type MeshEvent = z.infer<typeof MeshEventSchema>;
export type MeshEventType = MeshEvent["type"];
/** The event member with type `T`: `MeshEventOf<"task_assigned">["data"]["assignment"]`. */
export type MeshEventOf<T extends MeshEventType> = Extract<MeshEvent, { type: T }>;
/** The `data` payload of event type `T`. */
export type MeshEventData<T extends MeshEventType> = MeshEventOf<T>["data"];

/** Every event type, in declaration order. */
export const EVENT_TYPES = [
  "task_created",
  "task_assigned",
  "task_started",
  "task_chunk",
  "task_completed",
  "task_failed",
  "task_handoff",
  "task_cancelled",
  "task_requeued",
  "task_urgency_changed",
  "agent_online",
  "agent_offline",
  "agent_busy",
  "agent_breaker",
  "provenance_appended",
  "subscriber_dropped",
  "message_created",
  "approval_requested",
  "approval_decided",
  "approval_expired",
  "escalation_created",
  "escalation_resolved",
  "plugin_invoked",
] as const satisfies readonly MeshEventType[];

// Compile-time check that EVENT_TYPES lists every member of the union (a missing one fails here).
type MissingEventTypes = Exclude<MeshEventType, (typeof EVENT_TYPES)[number]>;
const eventTypesComplete: [MissingEventTypes] extends [never] ? true : MissingEventTypes = true;
void eventTypesComplete;

export const MeshEventTypeSchema = z.enum(EVENT_TYPES);

/** Whether `event` is of type `type` (narrows). */
export function isMeshEventOf<T extends MeshEventType>(event: MeshEvent, type: T): event is MeshEventOf<T> {
  return event.type === type;
}

/** Assembles an event; parse it with `MeshEventSchema` before publishing if `data` is untrusted. */
export function createMeshEvent<T extends MeshEventType>(
  type: T,
  data: MeshEventData<T>,
  meta: { id: string; ts: number },
): MeshEventOf<T> {
  return { type, id: meta.id, ts: meta.ts, data } as MeshEventOf<T>;
}
