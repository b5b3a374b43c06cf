import { z } from "zod";
import { ErrorCodeSchema } from "./errors";
import { AgentIdSchema, CapabilitySchema, TaskIdSchema } from "./ids";

/**
 * Hub plugins: tools an agent calls mid-task (`POST /api/plugins/:tool/invoke`), lifecycle hooks
 * the hub runs off the request path, and capability declarations. See docs/plugins.md.
 */

/** Mesh events a plugin may hook. Each hook runs after the event, off the request path, with a timeout. */
export const PLUGIN_HOOK_EVENTS = [
  "task_created",
  "task_completed",
  "task_failed",
  "agent_online",
  "agent_offline",
] as const;
export const PluginHookEventSchema = z.enum(PLUGIN_HOOK_EVENTS);
export type PluginHookEvent = z.infer<typeof PluginHookEventSchema>;

/**
 * Where a plugin came from: `builtin` — shipped with the hub, or registered in code by the process
 * that embeds it (`createHub(ctx, { plugins })`); `directory` — loaded from the plugins directory.
 */
export const PLUGIN_SOURCES = ["builtin", "directory"] as const;
export const PluginSourceSchema = z.enum(PLUGIN_SOURCES);
export type PluginSource = z.infer<typeof PluginSourceSchema>;

/** Plugin name: lowercase letters, digits, `_`, `-`, starting with a letter; 1–64 chars. */
export const PluginNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,63}$/, "Expected a plugin name matching ^[a-z][a-z0-9_-]{0,63}$");
export type PluginName = z.infer<typeof PluginNameSchema>;

/** Tool name: lowercase letters, digits and `_`, starting with a letter; 1–64 chars. Unique across plugins. */
export const ToolNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, "Expected a tool name matching ^[a-z][a-z0-9_]{0,63}$");
export type ToolName = z.infer<typeof ToolNameSchema>;

/** `*` in a tool's `capabilities`: any task may call it. */
export const ANY_CAPABILITY = "*";

/** A tool as `GET /api/plugins` lists it. */
export const PluginToolSchema = z.object({
  name: ToolNameSchema,
  description: z.string(),
  /**
   * Task capabilities whose agents may call it (`["*"]`: any). A capability declaration that
   * lists the tool allows it too.
   */
  capabilities: z.array(z.union([CapabilitySchema, z.literal(ANY_CAPABILITY)])),
  /** JSON Schema of `args`, generated from the tool's zod schema. */
  args_schema: z.record(z.string(), z.unknown()),
});
export type PluginTool = z.infer<typeof PluginToolSchema>;

/** A capability a plugin declares: what agents with it do, and which tools it grants them. */
export const CapabilityDeclarationSchema = z.object({
  name: CapabilitySchema,
  description: z.string(),
  /** Tools agents running a task of this capability may call, on top of each tool's own list. */
  tools: z.array(ToolNameSchema),
});
export type CapabilityDeclaration = z.infer<typeof CapabilityDeclarationSchema>;

/** One loaded plugin. */
export const PluginSchema = z.object({
  name: PluginNameSchema,
  source: PluginSourceSchema,
  /** Disabled: its tools are refused (409) and its hooks do not run. Persisted across restarts. */
  enabled: z.boolean(),
  description: z.string(),
  tools: z.array(PluginToolSchema),
  hooks: z.array(PluginHookEventSchema),
  capabilities: z.array(CapabilityDeclarationSchema),
});
export type Plugin = z.infer<typeof PluginSchema>;

/** `GET /api/plugins` response: built-ins first, then directory plugins by name. */
export const PluginListResponseSchema = z.object({ plugins: z.array(PluginSchema) });
export type PluginListResponse = z.infer<typeof PluginListResponseSchema>;

export const PluginPathSchema = z.strictObject({ name: PluginNameSchema });
export const ToolPathSchema = z.strictObject({ tool: ToolNameSchema });

/** `PUT /api/plugins/:name` body. */
export const UpdatePluginBodySchema = z.strictObject({ enabled: z.boolean() });
export type UpdatePluginBody = z.infer<typeof UpdatePluginBodySchema>;

/** `PUT /api/plugins/:name` response. */
export const PluginResponseSchema = z.object({ plugin: PluginSchema });
export type PluginResponse = z.infer<typeof PluginResponseSchema>;

/** Raw body ceiling of an invoke: a tool's arguments are small (a query, a path, a message). */
export const INVOKE_BODY_BYTES = 64 * 1024;

/** `POST /api/plugins/:tool/invoke` body. */
export const InvokeToolBodySchema = z.strictObject({
  /** The task the calling agent is running: it must be `running`, assigned to the caller. */
  task_id: TaskIdSchema,
  /** The attempt (lease) the caller claimed it under; an earlier attempt's call is a 409. */
  attempt: z.int().min(1),
  /** The tool's arguments, validated by its schema (422 when they do not fit). */
  args: z.record(z.string(), z.unknown()).default({}),
});
export type InvokeToolBody = z.output<typeof InvokeToolBodySchema>;
export type InvokeToolInput = z.input<typeof InvokeToolBodySchema>;

/**
 * Why a tool that ran produced no result. Refusals before it runs (unknown or disabled tool, a
 * task not yours, a stale attempt, a tool not allowed for the capability, bad arguments, a path
 * outside the allowed root) are error envelopes; these are failures after it started.
 */
export const ToolFailureSchema = z.object({
  /** `unavailable`: its backend is down or unconfigured, or it timed out; `internal`: it crashed. */
  code: ErrorCodeSchema,
  /** For the model: never a stack trace or a filesystem path. */
  message: z.string(),
});
export type ToolFailure = z.infer<typeof ToolFailureSchema>;

/**
 * `POST /api/plugins/:tool/invoke` response. A tool that ran answers 200 either way: with its
 * result, or with `ok: false` and why it failed. A failure after the tool started is not an HTTP
 * error on purpose: clients retry a 503, and the tool may have had an effect (a notification).
 */
export const InvokeToolResponseSchema = z.discriminatedUnion("ok", [
  z.object({
    tool: ToolNameSchema,
    ok: z.literal(true),
    /** JSON: whatever the tool returns (at most 64 KiB serialized). */
    result: z.unknown(),
    duration_ms: z.int().min(0),
  }),
  z.object({
    tool: ToolNameSchema,
    ok: z.literal(false),
    error: ToolFailureSchema,
    duration_ms: z.int().min(0),
  }),
]);
export type InvokeToolResponse = z.infer<typeof InvokeToolResponseSchema>;

/** `plugin_invoked` event payload (the result itself is not repeated). */
export const PluginInvokedDataSchema = z.object({
  tool: ToolNameSchema,
  plugin: PluginNameSchema,
  task_id: TaskIdSchema,
  agent_id: AgentIdSchema,
  attempt: z.int().min(1),
  ok: z.boolean(),
  /** The failure's code when `ok` is false. */
  error_code: ErrorCodeSchema.nullable(),
  duration_ms: z.int().min(0),
});
export type PluginInvokedData = z.infer<typeof PluginInvokedDataSchema>;
