import { z } from "zod";
import { AgentSchema, HeartbeatBodySchema, RegisterAgentBodySchema } from "../agent";
import { CompletionContributionSchema } from "../contribution";
import { AgentStatusSchema } from "../enums";
import { AgentIdSchema, EpochMsSchema, TaskIdSchema } from "../ids";
import { LIMITS } from "../limits";
import { defineRoute } from "../route";
import {
  CancelTaskBodySchema,
  CompleteTaskBodySchema,
  CreateTaskBodySchema,
  HandoffBodySchema,
  HandoffResponseSchema,
  ListTasksQuerySchema,
  NextTaskQuerySchema,
  StreamChunkBodySchema,
  StreamChunkSchema,
  TaskListResponseSchema,
  TaskSchema,
} from "../task";

/**
 * Raw body ceilings, checked before parsing. JSON escaping can inflate a string (a newline is two
 * bytes, a control character six), so each ceiling leaves room above its field's UTF-8 limit; the
 * exact byte limit is then enforced on the parsed string by the schema.
 */
export const TASK_BODY_LIMITS = {
  create: 4 * LIMITS.promptBytes + 16 * 1024,
  chunk: 4 * LIMITS.streamChunkBytes + 4 * 1024,
  complete: LIMITS.requestBodyBytes,
  handoff: 4 * LIMITS.handoffPartialBytes + 16 * 1024,
  small: 16 * 1024,
  worker: 64 * 1024,
} as const;

export const TaskPathSchema = z.strictObject({ id: TaskIdSchema });
export const AgentPathSchema = z.strictObject({ id: AgentIdSchema });

/** `{ task }`: the envelope of every route that answers with one task. */
export const TaskResponseSchema = z.object({ task: TaskSchema });
export type TaskResponse = z.infer<typeof TaskResponseSchema>;

/** `PUT /api/tasks/:id` response. `replayed` is true when an identical completion was already applied. */
export const CompleteTaskResponseSchema = z.object({
  task: TaskSchema,
  /** The same completion was applied before (a retried request): nothing changed now. */
  replayed: z.boolean(),
  /** How a `done` result was validated and credited (absent on a failure or a replay). */
  contribution: CompletionContributionSchema.optional(),
});
export type CompleteTaskResponse = z.infer<typeof CompleteTaskResponseSchema>;

/** `POST /api/tasks/:id/stream` response. */
export const StreamChunkResponseSchema = z.object({
  /** The attempt the chunk belongs to. */
  attempt: z.int().min(1),
  /** Position within the attempt the chunk was stored at (or already had, when `duplicate`). */
  seq: z.int().min(0),
  /** The hub already had a chunk at this attempt and `seq` (a retried POST): nothing was stored. */
  duplicate: z.boolean(),
});
export type StreamChunkResponse = z.infer<typeof StreamChunkResponseSchema>;

/** `GET /api/tasks/:id/chunks` query. */
export const ListChunksQuerySchema = z.strictObject({
  /** Only this attempt's chunks (absent: every attempt's, ordered by attempt then `seq`). */
  attempt: z.coerce.number<string>().int().min(1).optional(),
  /** Only chunks with `seq` greater than this, within each attempt listed (-1 or absent: from the start). */
  after: z.coerce.number<string>().int().min(-1).optional(),
});
export type ListChunksQuery = z.output<typeof ListChunksQuerySchema>;

/** `GET /api/tasks/:id/chunks` response. */
export const ChunkListResponseSchema = z.object({ chunks: z.array(StreamChunkSchema) });
export type ChunkListResponse = z.infer<typeof ChunkListResponseSchema>;

/** `POST /api/agents/:id/register` response. */
export const RegisterAgentResponseSchema = z.object({ agent: AgentSchema });
export type RegisterAgentResponse = z.infer<typeof RegisterAgentResponseSchema>;

/** `POST /api/agents/:id/heartbeat` response. */
export const HeartbeatResponseSchema = z.object({
  ok: z.literal(true),
  status: AgentStatusSchema,
  /** The hub's clock (ms), for the worker to estimate skew. */
  server_time: EpochMsSchema,
  /**
   * The agent's tasks that were cancelled while it held them (`assigned` or `running`), whose
   * cancellation it has not acknowledged yet (`cancelled_ack` in a later heartbeat) and that are
   * younger than the hub's notice TTL (10 min by default). The worker stops each at once, without
   * fetching its running tasks; an id it does not run is acknowledged and ignored. Oldest first,
   * at most 100.
   */
  cancelled: z.array(TaskIdSchema).max(LIMITS.cancelledNoticesMax),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponseSchema>;

/** `GET /api/agents/:id/tasks/next` response: the claimed task and its attempt (lease) number. */
export const NextTaskResponseSchema = z.object({
  task: TaskSchema,
  /**
   * The attempt (lease) this claim opened. Every stream, complete, fail and handoff of this
   * execution carries it; a write from an earlier attempt is refused with 409.
   */
  attempt: z.int().min(1),
});
export type NextTaskResponse = z.infer<typeof NextTaskResponseSchema>;

export const createTaskRoute = defineRoute({
  id: "tasks.create",
  method: "POST",
  path: "/api/tasks",
  permission: "tasks:write",
  summary: "Submit a task",
  description:
    "Stores the task (`queued`, or `waiting` while it has unmet dependencies) and wakes the dispatcher. " +
    "A dependency on a task that ended without completing is refused with 409. " +
    "With `idempotency_key`, a repeat of the same request by the same caller answers 200 with the task " +
    "created the first time (nothing new is stored or dispatched); the key reused for a different request is a 409.",
  tags: ["tasks"],
  body: CreateTaskBodySchema,
  bodyLimitBytes: TASK_BODY_LIMITS.create,
  responses: { 201: TaskResponseSchema, 200: TaskResponseSchema },
  errors: [404, 409, 413, 415, 422, 429],
});

export const listTasksRoute = defineRoute({
  id: "tasks.list",
  method: "GET",
  path: "/api/tasks",
  permission: "tasks:read",
  summary: "List tasks, newest first",
  tags: ["tasks"],
  query: ListTasksQuerySchema,
  responses: { 200: TaskListResponseSchema },
  errors: [422],
});

export const getTaskRoute = defineRoute({
  id: "tasks.get",
  method: "GET",
  path: "/api/tasks/:id",
  permission: "tasks:read",
  summary: "Get one task",
  tags: ["tasks"],
  params: TaskPathSchema,
  responses: { 200: TaskResponseSchema },
  errors: [404, 422],
});

export const cancelTaskRoute = defineRoute({
  id: "tasks.cancel",
  method: "POST",
  path: "/api/tasks/:id/cancel",
  permission: "tasks:write",
  summary: "Cancel a task that has not ended",
  tags: ["tasks"],
  params: TaskPathSchema,
  body: CancelTaskBodySchema,
  bodyLimitBytes: TASK_BODY_LIMITS.small,
  responses: { 200: TaskResponseSchema },
  errors: [404, 409, 422],
});

export const completeTaskRoute = defineRoute({
  id: "tasks.complete",
  method: "PUT",
  path: "/api/tasks/:id",
  permission: "tasks:write",
  summary: "Complete or fail a running task (its assigned agent)",
  description:
    "Idempotent for a worker's spool: repeating the same completion answers 200 with `replayed: true`.",
  tags: ["worker"],
  params: TaskPathSchema,
  body: CompleteTaskBodySchema,
  bodyLimitBytes: TASK_BODY_LIMITS.complete,
  responses: { 200: CompleteTaskResponseSchema },
  errors: [404, 409, 413, 415, 422],
});

export const streamChunkRoute = defineRoute({
  id: "tasks.stream",
  method: "POST",
  path: "/api/tasks/:id/stream",
  permission: "tasks:stream",
  summary: "Append a chunk of streamed output (its assigned agent)",
  tags: ["worker"],
  params: TaskPathSchema,
  body: StreamChunkBodySchema,
  bodyLimitBytes: TASK_BODY_LIMITS.chunk,
  responses: { 200: StreamChunkResponseSchema },
  errors: [404, 409, 413, 415, 422],
});

export const listChunksRoute = defineRoute({
  id: "tasks.chunks",
  method: "GET",
  path: "/api/tasks/:id/chunks",
  permission: "tasks:read",
  summary: "Read a task's streamed chunks",
  tags: ["tasks"],
  params: TaskPathSchema,
  query: ListChunksQuerySchema,
  responses: { 200: ChunkListResponseSchema },
  errors: [404, 422],
});

export const handoffTaskRoute = defineRoute({
  id: "tasks.handoff",
  method: "POST",
  path: "/api/tasks/:id/handoff",
  permission: "tasks:write",
  summary: "Hand off a running task with its partial output (its assigned agent)",
  description: "Suspends the task and creates a continuation that carries the partial output.",
  tags: ["worker"],
  params: TaskPathSchema,
  body: HandoffBodySchema,
  bodyLimitBytes: TASK_BODY_LIMITS.handoff,
  responses: { 201: HandoffResponseSchema },
  errors: [404, 409, 413, 415, 422],
});

export const registerAgentRoute = defineRoute({
  id: "worker.register",
  method: "POST",
  path: "/api/agents/:id/register",
  permission: "tasks:read",
  summary: "Register (or re-register) an agent",
  tags: ["worker"],
  params: AgentPathSchema,
  body: RegisterAgentBodySchema,
  bodyLimitBytes: TASK_BODY_LIMITS.worker,
  responses: { 200: RegisterAgentResponseSchema },
  errors: [403, 413, 415, 422],
});

export const heartbeatRoute = defineRoute({
  id: "worker.heartbeat",
  method: "POST",
  path: "/api/agents/:id/heartbeat",
  permission: "tasks:read",
  summary: "Report liveness and load",
  tags: ["worker"],
  params: AgentPathSchema,
  body: HeartbeatBodySchema,
  bodyLimitBytes: TASK_BODY_LIMITS.worker,
  responses: { 200: HeartbeatResponseSchema },
  errors: [404, 413, 415, 422],
});

export const nextTaskRoute = defineRoute({
  id: "worker.next",
  method: "GET",
  path: "/api/agents/:id/tasks/next",
  permission: "tasks:read",
  summary: "Long-poll for the agent's next task",
  description:
    "Answers with the next assigned task the moment the dispatcher assigns it (marking it `running` and " +
    "opening a new attempt), or 204 after `wait` seconds. `task.composed_prompt` is the prompt to run.",
  tags: ["worker"],
  params: AgentPathSchema,
  query: NextTaskQuerySchema,
  responses: { 200: NextTaskResponseSchema, 204: null },
  errors: [404, 422],
});

/** The task routes and the worker contract. */
export const TASK_ROUTES = [
  createTaskRoute,
  listTasksRoute,
  getTaskRoute,
  cancelTaskRoute,
  completeTaskRoute,
  streamChunkRoute,
  listChunksRoute,
  handoffTaskRoute,
  registerAgentRoute,
  heartbeatRoute,
  nextTaskRoute,
] as const;
