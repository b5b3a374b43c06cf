import {
  AgentIdSchema,
  AgentSchema,
  AgentStatusSchema,
  ApprovalIdSchema,
  ApprovalSchema,
  ApprovalStatusSchema,
  CapabilitySchema,
  ChannelSchema,
  ContextEntrySchema,
  ContextKeySchema,
  CursorSchema,
  LIMITS,
  MessageIdSchema,
  MessageSchema,
  type Permission,
  PipelineIdSchema,
  PipelineStepSchema,
  PrioritySchema,
  ProvenanceResponseSchema,
  SummaryAnalyticsSchema,
  type Task,
  TaskIdSchema,
  TaskSchema,
  TaskStatusSchema,
  TemplateIdSchema,
  TemplateSchema,
  TemplateVariablesSchema,
} from "@m3shd/protocol";
import type { ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { AWAIT_MAX_MS, type AwaitClock, type AwaitResult, awaitTask, type ProgressStep } from "./await";
import { MemorySearchResultSchema, type MeshPort, StoreMemoryResultSchema } from "./port";

/** What a tool's run needs besides its arguments. */
export interface ToolContext {
  port: MeshPort;
  /** `await_task`'s poll interval. */
  pollMs: number;
  /** `await_task`'s ceiling (≤ `AWAIT_MAX_MS`; tests lower it). */
  awaitMaxMs: number;
  /** `await_task`'s clock (default: the system clock). */
  clock?: AwaitClock;
  signal?: AbortSignal;
  /** Set when the caller sent a progress token. */
  onProgress?: (step: ProgressStep) => Promise<void>;
}

/** One MCP tool: its hub permission, schemas and run. */
export interface ToolDef<I extends z.ZodObject = z.ZodObject, O extends z.ZodObject = z.ZodObject> {
  name: string;
  title: string;
  description: string;
  /** The permission of the hub route the tool calls; a credential without it does not see the tool. */
  permission: Permission;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  run(ctx: ToolContext, args: z.output<I>): Promise<z.input<O>>;
}

function tool<I extends z.ZodObject, O extends z.ZodObject>(def: ToolDef<I, O>): ToolDef<I, O> {
  return def;
}

const READ: ToolAnnotations = { readOnlyHint: true, destructiveHint: false, openWorldHint: false };
const WRITE: ToolAnnotations = { readOnlyHint: false, destructiveHint: false, openWorldHint: true };

/** A task without its prompt and output: what a list shows, so a page of tasks stays small. */
export const TaskSummarySchema = z.object({
  id: TaskIdSchema,
  title: z.string(),
  status: TaskStatusSchema,
  required_capability: z.string(),
  priority: z.int(),
  assigned_to: z.string().nullable(),
  error: z.string().nullable(),
  created_at: z.int(),
  updated_at: z.int(),
  completed_at: z.int().nullable(),
});

export function summarizeTask(task: Task): z.infer<typeof TaskSummarySchema> {
  return {
    id: task.id,
    title: task.title,
    status: task.status,
    required_capability: task.required_capability,
    priority: task.priority,
    assigned_to: task.assigned_to,
    error: task.error,
    created_at: task.created_at,
    updated_at: task.updated_at,
    completed_at: task.completed_at,
  };
}

const TaskOut = z.object({ task: TaskSchema });

const Deadline = z
  .union([z.int().min(0), z.iso.datetime({ offset: true })])
  .describe(
    "Deadline: epoch milliseconds, or an ISO 8601 date-time with an offset (e.g. 2026-12-01T18:00:00Z)",
  );

const Limit = z.int().min(1).max(100).default(20).describe("Page size, 1–100 (default 20)");

/**
 * `dispatch_task`'s input: a task from a prompt (`title`, `prompt`, `capability`) or from a
 * template (`template_id`, `variables`), never both. One tool for both forms keeps the tool count
 * within budget (see the README); each form is one hub route, both gated by `tasks:write`.
 */
export const DispatchTaskInput = z
  .strictObject({
    title: z
      .string()
      .trim()
      .min(1)
      .max(LIMITS.titleChars)
      .optional()
      .describe("Short title people see in lists; required with prompt, the template's name by default"),
    prompt: z.string().min(1).optional().describe("What the agent should do (at most 8 KB of UTF-8)"),
    capability: CapabilitySchema.optional().describe(
      "With prompt: the capability an agent must have, e.g. research, summarize, qa, code_review, write (see list_agents)",
    ),
    template_id: TemplateIdSchema.optional().describe(
      "Instead of prompt and capability: a template id (tpl_…, see list_templates)",
    ),
    variables: TemplateVariablesSchema.optional().describe(
      "With template_id: a value for each of the template's {variables}",
    ),
    priority: PrioritySchema.optional().describe("1 (lowest) … 10 (highest); default 5"),
    assign_to: AgentIdSchema.optional().describe("Ask for this agent by id"),
    depends_on: z
      .array(TaskIdSchema)
      .max(LIMITS.dependsOnMax)
      .optional()
      .describe("Task ids that must finish first"),
    deadline: Deadline.optional(),
    max_attempts: z.int().min(1).max(LIMITS.maxAttemptsMax).optional(),
  })
  .superRefine((args, ctx) => {
    if (args.template_id !== undefined) {
      for (const key of ["prompt", "capability"] as const) {
        if (args[key] !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: [key],
            message: `${key} cannot be combined with template_id`,
          });
        }
      }
      return;
    }
    for (const key of ["title", "prompt", "capability"] as const) {
      if (args[key] === undefined) {
        ctx.addIssue({ code: "custom", path: [key], message: `${key} is required (or give template_id)` });
      }
    }
    if (args.variables !== undefined) {
      ctx.addIssue({ code: "custom", path: ["variables"], message: "variables need template_id" });
    }
  });

export const DispatchTaskOutput = z.object({
  task_id: TaskIdSchema,
  status: TaskStatusSchema,
  task: TaskSchema,
});

/** `dispatch_task`'s work, shared by the plain tool and the Tasks adapter. */
export async function dispatchTask(
  port: MeshPort,
  args: z.output<typeof DispatchTaskInput>,
): Promise<z.infer<typeof DispatchTaskOutput>> {
  const common = {
    ...(args.priority !== undefined ? { priority: args.priority } : {}),
    ...(args.assign_to !== undefined ? { assign_to: args.assign_to } : {}),
    ...(args.depends_on !== undefined ? { depends_on: args.depends_on } : {}),
    ...(args.deadline !== undefined ? { deadline: args.deadline } : {}),
    ...(args.max_attempts !== undefined ? { max_attempts: args.max_attempts } : {}),
  };
  let task: Task;
  if (args.template_id !== undefined) {
    task = await port.dispatchTemplate(args.template_id, {
      ...common,
      ...(args.variables !== undefined ? { variables: args.variables } : {}),
      ...(args.title !== undefined ? { title: args.title } : {}),
    });
  } else {
    // The input schema's refinement guarantees these three without a template.
    const { title, prompt, capability } = args as Required<
      Pick<typeof args, "title" | "prompt" | "capability">
    >;
    task = await port.createTask({ title, prompt, required_capability: capability, ...common });
  }
  return { task_id: task.id, status: task.status, task };
}

export const AwaitTaskOutput = z.object({
  state: z.enum(["finished", "still_running"]),
  task: TaskSchema,
  waited_ms: z.int().min(0),
  /** Guidance for the model when the wait ran out. */
  hint: z.string().optional(),
});

export function awaitOutput(result: AwaitResult): z.infer<typeof AwaitTaskOutput> {
  return result.state === "finished"
    ? result
    : {
        ...result,
        hint: `Task ${result.task.id} is still ${result.task.status}; call await_task again to keep waiting.`,
      };
}

/** The 17 tools. Order is the order of `tools/list`. */
export const TOOLS = [
  tool({
    name: "dispatch_task",
    title: "Dispatch a task",
    description:
      "Submit a task to the mesh and return at once with its id and state (usually `queued`): either title + " +
      "prompt + capability, or template_id + variables (see list_templates). The dispatcher assigns it to an " +
      "online agent with the capability. Follow it with await_task (waits up to 50 s per call, streaming " +
      "progress) or get_task. Clients that support MCP Tasks may run it as a task and poll tasks/get.",
    permission: "tasks:write",
    input: DispatchTaskInput,
    output: DispatchTaskOutput,
    annotations: WRITE,
    run: (ctx, args) => dispatchTask(ctx.port, args),
  }),
  tool({
    name: "get_task",
    title: "Get a task",
    description:
      "One task with its state, assigned agent, output (when done), error, cost and the dispatcher's reasoning.",
    permission: "tasks:read",
    input: z.strictObject({ task_id: TaskIdSchema.describe("The task id (task_…)") }),
    output: TaskOut,
    annotations: READ,
    run: async (ctx, args) => ({ task: await ctx.port.getTask(args.task_id) }),
  }),
  tool({
    name: "list_tasks",
    title: "List tasks",
    description:
      "Recent tasks, newest first, as summaries (no prompt or output; use get_task for those). Filter by status, " +
      "agent or capability; pass next_cursor back as cursor for the next page.",
    permission: "tasks:read",
    input: z.strictObject({
      status: TaskStatusSchema.optional(),
      agent: AgentIdSchema.optional().describe("Only tasks assigned to this agent"),
      capability: CapabilitySchema.optional(),
      cursor: CursorSchema.optional(),
      limit: Limit,
    }),
    output: z.object({ tasks: z.array(TaskSummarySchema), next_cursor: z.string().nullable() }),
    annotations: READ,
    run: async (ctx, args) => {
      const page = await ctx.port.listTasks(args);
      return { tasks: page.tasks.map(summarizeTask), next_cursor: page.next_cursor };
    },
  }),
  tool({
    name: "cancel_task",
    title: "Cancel a task",
    description:
      "Cancel a task that has not ended (a running agent is told to stop). Ended tasks answer a conflict.",
    permission: "tasks:write",
    input: z.strictObject({
      task_id: TaskIdSchema,
      reason: z.string().max(1000).optional().describe("Why, kept on the task"),
    }),
    output: TaskOut,
    annotations: { ...WRITE, destructiveHint: true, idempotentHint: true },
    run: async (ctx, args) => ({ task: await ctx.port.cancelTask(args.task_id, args.reason) }),
  }),
  tool({
    name: "await_task",
    title: "Wait for a task",
    description:
      "Wait for a task to finish, up to timeout_s (at most 50 s, so the call never hits a client's 60 s limit). " +
      'Answers state "finished" with the task (output included), or "still_running" with its current state — ' +
      "then call again. With a progress token, state changes and streamed output arrive as progress notifications.",
    permission: "tasks:read",
    input: z.strictObject({
      task_id: TaskIdSchema,
      timeout_s: z
        .number()
        .min(0)
        .max(AWAIT_MAX_MS / 1000)
        .default(AWAIT_MAX_MS / 1000)
        .describe("Seconds to wait at most, 0–50 (default 50)"),
    }),
    output: AwaitTaskOutput,
    annotations: READ,
    run: async (ctx, args) =>
      awaitOutput(
        await awaitTask(ctx.port, args.task_id, {
          maxMs: Math.min(args.timeout_s * 1000, ctx.awaitMaxMs),
          pollMs: ctx.pollMs,
          ...(ctx.clock ? { clock: ctx.clock } : {}),
          ...(ctx.signal ? { signal: ctx.signal } : {}),
          ...(ctx.onProgress ? { onProgress: ctx.onProgress } : {}),
        }),
      ),
  }),
  tool({
    name: "create_pipeline",
    title: "Create a pipeline",
    description:
      "Submit several tasks at once. sequential: each step waits for the previous one and receives its output; " +
      "dag: each step names the steps it waits for in depends_on. A step is either a prompt with title and " +
      "required_capability, or a template (id or name) with its variables.",
    permission: "tasks:write",
    input: z.strictObject({
      name: z.string().trim().min(1).max(LIMITS.titleChars).optional(),
      mode: z.enum(["sequential", "dag"]).default("sequential"),
      steps: z.array(PipelineStepSchema).min(1).max(200),
    }),
    output: z.object({
      pipeline_id: PipelineIdSchema,
      steps: z.array(z.object({ name: z.string(), task_id: TaskIdSchema })),
      tasks: z.array(TaskSummarySchema),
    }),
    annotations: WRITE,
    run: async (ctx, args) => {
      const created = await ctx.port.createPipeline(args);
      return {
        pipeline_id: created.pipeline_id,
        steps: created.steps,
        tasks: created.tasks.map(summarizeTask),
      };
    },
  }),
  tool({
    name: "list_templates",
    title: "List task templates",
    description:
      "The mesh's task templates (Research, Summarize, QA, Code Review, Write, and any added): id, capability, " +
      "and the {variables} each needs. Dispatch one with dispatch_task (template_id + variables).",
    permission: "tasks:read",
    input: z.strictObject({}),
    output: z.object({ templates: z.array(TemplateSchema) }),
    annotations: READ,
    run: async (ctx) => ({ templates: await ctx.port.listTemplates() }),
  }),
  tool({
    name: "list_agents",
    title: "List agents",
    description:
      "The mesh's agents: capabilities, status (online, busy, offline), slots in use, provider/model, circuit breaker.",
    permission: "agents:read",
    input: z.strictObject({
      capability: CapabilitySchema.optional().describe("Only agents with this capability"),
      status: AgentStatusSchema.optional(),
    }),
    output: z.object({ agents: z.array(AgentSchema) }),
    annotations: READ,
    run: async (ctx, args) => ({
      agents: (await ctx.port.listAgents()).filter(
        (a) =>
          (args.capability === undefined || a.capabilities.includes(args.capability)) &&
          (args.status === undefined || a.status === args.status),
      ),
    }),
  }),
  tool({
    name: "search_memory",
    title: "Search memory",
    description:
      "Full-text (BM25) search of the agents' long-term memory. With agent_id, that agent's memories; without, " +
      "across agents (needs the right to read them all).",
    permission: "memory:read",
    input: z.strictObject({
      query: z
        .string()
        .min(1)
        .max(16 * 1024)
        .describe("Free text"),
      agent_id: AgentIdSchema.optional(),
      tag: z.string().max(256).optional(),
      limit: Limit,
    }),
    output: MemorySearchResultSchema,
    annotations: READ,
    run: (ctx, { query, ...rest }) => ctx.port.searchMemory({ q: query, ...rest }),
  }),
  tool({
    name: "store_memory",
    title: "Store a memory",
    description:
      "Store (or update, by key) one memory for an agent: a fact it should recall in later tasks. Tags help search.",
    permission: "memory:write",
    input: z.strictObject({
      agent_id: AgentIdSchema,
      key: z.string().min(1).max(256).describe("Stable key; storing the same key again updates it"),
      value: z
        .string()
        .min(1)
        .max(64 * 1024),
      tags: z.array(z.string().max(64)).max(16).optional(),
      confidence: z.number().min(0).max(1).optional(),
      source_task_id: TaskIdSchema.optional(),
    }),
    output: StoreMemoryResultSchema,
    annotations: { ...WRITE, idempotentHint: true },
    run: (ctx, args) => ctx.port.storeMemory(args),
  }),
  tool({
    name: "list_approvals",
    title: "List approvals",
    description:
      "Approval requests agents raised before risky actions, newest first (default: pending only). Decide with decide_approval.",
    permission: "tasks:read",
    input: z.strictObject({ status: ApprovalStatusSchema.default("pending"), limit: Limit }),
    output: z.object({ approvals: z.array(ApprovalSchema), next_cursor: z.string().nullable() }),
    annotations: READ,
    run: (ctx, args) => ctx.port.listApprovals(args),
  }),
  tool({
    name: "decide_approval",
    title: "Approve or reject",
    description:
      "Approve or reject a pending approval request; the waiting agent proceeds or stops. Decided once.",
    permission: "agents:write",
    input: z.strictObject({
      approval_id: ApprovalIdSchema,
      decision: z.enum(["approved", "rejected"]),
      reason: z.string().max(1000).optional(),
    }),
    output: z.object({ approval: ApprovalSchema }),
    annotations: { ...WRITE, destructiveHint: true },
    run: async (ctx, { approval_id, ...body }) => ({
      approval: await ctx.port.decideApproval(approval_id, body),
    }),
  }),
  tool({
    name: "get_context",
    title: "Read shared context",
    description: "Read one key of the mesh-wide shared context (working memory every agent can read).",
    permission: "memory:read",
    input: z.strictObject({ key: ContextKeySchema }),
    output: z.object({ entry: ContextEntrySchema }),
    annotations: READ,
    run: async (ctx, args) => ({ entry: await ctx.port.getContext(args.key) }),
  }),
  tool({
    name: "set_context",
    title: "Write shared context",
    description: "Set one key of the mesh-wide shared context to any JSON value (at most 64 KB serialized).",
    permission: "memory:write",
    input: z.strictObject({ key: ContextKeySchema, value: z.json().describe("Any JSON value") }),
    output: z.object({ entry: ContextEntrySchema }),
    annotations: { ...WRITE, idempotentHint: true },
    run: async (ctx, args) => ({ entry: await ctx.port.setContext(args.key, args.value) }),
  }),
  tool({
    name: "send_message",
    title: "Post a chat message",
    description:
      "Post a message to a mesh chat channel (default `general`), where agents and operators read it; the " +
      "sender is this credential, never an argument. Use reply_to to answer a message by id.",
    permission: "messages:write",
    input: z.strictObject({
      content: z.string().min(1).max(LIMITS.messageBytes).describe("The message (at most 50 KB of UTF-8)"),
      channel: ChannelSchema.optional().describe("Channel name, e.g. general, ops; default general"),
      reply_to: MessageIdSchema.optional().describe("The message this one answers (msg_…)"),
    }),
    output: z.object({ message: MessageSchema }),
    annotations: WRITE,
    run: async (ctx, args) => ({ message: await ctx.port.sendMessage(args) }),
  }),
  tool({
    name: "verify_provenance",
    title: "Verify a result's provenance",
    description:
      "The signed provenance chain of a finished task's pipeline, the hub's verification verdict, and the " +
      "RFC 6962 Merkle inclusion proof of the result in the append-only log.",
    permission: "tasks:read",
    input: z.strictObject({ task_id: TaskIdSchema }),
    output: ProvenanceResponseSchema.extend({ verified: z.boolean() }),
    annotations: READ,
    run: async (ctx, args) => {
      const provenance = await ctx.port.getProvenance(args.task_id);
      return { ...provenance, verified: provenance.verdict.ok };
    },
  }),
  tool({
    name: "mesh_summary",
    title: "Mesh summary",
    description:
      "One-glance health of the mesh over the last 24 h: tasks by status and success rate, spend, agents online/busy/offline, open escalations and pending approvals.",
    permission: "admin:analytics",
    input: z.strictObject({}),
    output: SummaryAnalyticsSchema,
    annotations: READ,
    run: (ctx) => ctx.port.summary(),
  }),
] as const;

export type ToolName = (typeof TOOLS)[number]["name"];
