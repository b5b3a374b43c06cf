import { realpathSync } from "node:fs";
import {
  ANY_CAPABILITY,
  type CapabilityDeclaration,
  CapabilityDeclarationSchema,
  type ErrorCode,
  isM3shdError,
  M3shdError,
  type MeshEvent,
  type MeshEventData,
  PLUGIN_HOOK_EVENTS,
  type Plugin,
  type PluginHookEvent,
  PluginNameSchema,
  type PluginSource,
  type ToolFailure,
  ToolNameSchema,
  ValidationError,
} from "@m3shd/protocol";
import type { Logger } from "pino";
import { z } from "zod";
import { type PluginsConfig, pluginsSettings } from "./config";
import { createRedactor, type Redactor } from "./redact";

/**
 * The hub's plugin system: three registries — tools agents call mid-task, lifecycle hooks on mesh
 * events, and capability declarations — filled by plugins' `setup(manager)`. Plugins are trusted
 * code running in the hub process (see docs/plugins.md); what the manager guards is the hub's
 * availability and the agents' view: a plugin that throws at setup is skipped, a hook that throws
 * or hangs is logged and never touches a request, and what a tool answers never carries a stack
 * trace or one of the hub's filesystem paths.
 */

/** Codes a tool may refuse its input with: each becomes the error envelope of its status. */
export const TOOL_REFUSAL_CODES = [
  "validation_failed",
  "forbidden",
  "not_found",
  "conflict",
  "payload_too_large",
] as const satisfies readonly ErrorCode[];
export type ToolRefusalCode = (typeof TOOL_REFUSAL_CODES)[number];
const REFUSALS: ReadonlySet<string> = new Set(TOOL_REFUSAL_CODES);

/**
 * What a tool throws to tell the agent something deliberate. A refusal code (the input is not
 * acceptable: a path outside the root, a missing file) answers with that code's error envelope;
 * `unavailable` (its backend is down or not configured) answers 200 with `ok: false`. The message
 * goes to the model (paths the hub knows are masked); anything else a tool throws is logged and
 * reaches the model only as "the tool failed".
 */
export class ToolError extends M3shdError {
  constructor(code: ToolRefusalCode | "unavailable", message: string) {
    super(code, message);
  }
}

/** What a tool handler receives besides its arguments. */
export interface ToolCallContext {
  taskId: string;
  attempt: number;
  /** The agent running the task (authenticated by the hub, never taken from the arguments). */
  agentId: string;
  /** The task's required capability. */
  capability: string;
  /** Aborted when the tool's timeout passes. */
  signal: AbortSignal;
  logger: Logger;
}

export interface ToolDefinition<A extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  /** Arguments schema (use `manager.z`: one zod copy, the hub's). */
  args: A;
  /** Task capabilities allowed to call it; default `["*"]` (any). The operator may override it. */
  capabilities?: readonly string[];
  handler(args: z.output<A>, call: ToolCallContext): unknown;
}

/** What a hook handler receives besides the event's data. */
export interface HookContext {
  event: PluginHookEvent;
  /** Aborted when the hook's timeout passes or the hub stops. */
  signal: AbortSignal;
  logger: Logger;
}

export type HookHandler<E extends PluginHookEvent = PluginHookEvent> = (
  data: MeshEventData<E>,
  context: HookContext,
) => unknown;

/** The object a plugin's `setup` receives. Registrations take effect only if `setup` succeeds. */
export interface PluginApi {
  /** This plugin's name. */
  readonly name: string;
  /** The hub's zod: build argument schemas with it (mixing zod copies breaks at runtime). */
  readonly z: typeof z;
  /** The error class for deliberate refusals and failures (see `ToolError`). */
  readonly ToolError: typeof ToolError;
  /** A logger tagged with the plugin's name. */
  readonly logger: Logger;
  registerTool<A extends z.ZodType>(tool: ToolDefinition<A>): void;
  hook<E extends PluginHookEvent>(event: E, handler: HookHandler<E>): void;
  declareCapability(declaration: { name: string; description?: string; tools?: readonly string[] }): void;
}

/** A plugin module: `export function setup(manager)`, optionally `name` and `description`. */
export interface PluginModule {
  name?: string;
  description?: string;
  setup(manager: PluginApi): unknown;
}

interface RegisteredTool {
  plugin: string;
  name: string;
  description: string;
  args: z.ZodType;
  argsJsonSchema: Record<string, unknown>;
  capabilities: readonly string[];
  handler: (args: unknown, call: ToolCallContext) => unknown;
}

interface RegisteredHook {
  plugin: string;
  event: PluginHookEvent;
  handler: HookHandler;
}

interface RegisteredPlugin {
  name: string;
  source: PluginSource;
  description: string;
  tools: RegisteredTool[];
  hooks: RegisteredHook[];
  capabilities: CapabilityDeclaration[];
}

/** What running a tool came to: its JSON result, a failure (200 `ok: false`), or a refusal (an envelope). */
export type ToolRun =
  | { kind: "result"; result: unknown; durationMs: number }
  | { kind: "failure"; error: ToolFailure; durationMs: number }
  /** `ran`: the tool refused its input; false: its arguments did not fit its schema (it never ran). */
  | { kind: "refused"; error: M3shdError; ran: boolean; durationMs: number };

/** Serialized size ceiling of a tool result. */
export const TOOL_RESULT_MAX_BYTES = 64 * 1024;

const HOOK_EVENTS: ReadonlySet<string> = new Set(PLUGIN_HOOK_EVENTS);

function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  try {
    return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  } catch {
    // A schema from another zod copy or with exotic parts: the tool works, it just lists no schema.
    return {};
  }
}

/** Runs `run` with an abort signal that fires after `ms`; rejects with `timeout` when it does. */
async function withTimeout<T>(
  ms: number,
  outer: AbortSignal | null,
  run: (signal: AbortSignal) => Promise<T> | T,
): Promise<T> {
  const controller = new AbortController();
  const onOuter = () => controller.abort(outer?.reason);
  outer?.addEventListener("abort", onOuter, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`timed out after ${ms} ms`);
      controller.abort(err);
      reject(Object.assign(err, { timeout: true }));
    }, ms);
  });
  try {
    return await Promise.race([Promise.resolve().then(() => run(controller.signal)), timeout]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener("abort", onOuter);
  }
}

const isTimeout = (err: unknown) => (err as { timeout?: unknown } | null)?.timeout === true;

export interface PluginManagerOptions {
  logger: Logger;
  config?: PluginsConfig | undefined;
  /** Paths the hub knows (data dir, plugins dir, roots) masked in everything a tool answers. */
  sensitivePaths?: readonly (string | undefined)[];
}

export class PluginManager {
  readonly #logger: Logger;
  readonly #settings: ReturnType<typeof pluginsSettings>;
  readonly #plugins = new Map<string, RegisteredPlugin>();
  readonly #tools = new Map<string, RegisteredTool>();
  readonly #life = new AbortController();
  readonly #redactor: Redactor;
  #hooksInFlight = 0;
  #idleWaiters: (() => void)[] = [];

  constructor(options: PluginManagerOptions) {
    this.#logger = options.logger;
    this.#settings = pluginsSettings(options.config);
    this.#redactor = createRedactor([
      ...(options.sensitivePaths ?? []),
      options.config?.dir,
      options.config?.fileSummary?.root,
    ]);
    // The same directories as the disk names them after symlinks (a root under a linked /tmp).
    for (const path of [options.config?.dir, options.config?.fileSummary?.root]) {
      if (!path) continue;
      try {
        this.#redactor.add(realpathSync(path));
      } catch {
        // Missing for now: the tool answers `unavailable` until it exists.
      }
    }
  }

  /** Masks the hub's paths and stack frames in a value a tool produced (deep, strings only). */
  redact<T>(value: T): T {
    return this.#redactor(value);
  }

  /** Adds paths to mask (a root resolved through symlinks). */
  addSensitivePath(path: string): void {
    this.#redactor.add(path);
  }

  /**
   * Runs a plugin's `setup` against a staging registrar and commits what it registered only if it
   * succeeds within the setup timeout. Returns false (and logs why) when the plugin was skipped.
   */
  async register(source: PluginSource, module: PluginModule, origin?: string): Promise<boolean> {
    const name = module.name ?? "";
    const log = this.#logger.child({ plugin: name || null, ...(origin ? { file: origin } : {}) });
    try {
      if (!PluginNameSchema.safeParse(name).success) {
        throw new Error(`invalid plugin name ${JSON.stringify(name).slice(0, 80)}`);
      }
      if (this.#plugins.has(name)) throw new Error(`a plugin named ${name} is already loaded`);
      if (typeof module.setup !== "function")
        throw new Error("the module exports no setup(manager) function");
      const staged: RegisteredPlugin = {
        name,
        source,
        description: typeof module.description === "string" ? module.description.slice(0, 1000) : "",
        tools: [],
        hooks: [],
        capabilities: [],
      };
      const api = this.#stagingApi(staged, log);
      await withTimeout(this.#settings.setupTimeoutMs, null, () => module.setup(api));
      // Checked again at commit: another plugin may have taken a tool name meanwhile.
      for (const tool of staged.tools) {
        if (this.#tools.has(tool.name)) throw new Error(`tool ${tool.name} is already registered`);
      }
      this.#plugins.set(name, staged);
      for (const tool of staged.tools) this.#tools.set(tool.name, tool);
      log.info(
        {
          source,
          tools: staged.tools.map((t) => t.name),
          hooks: staged.hooks.map((h) => h.event),
          capabilities: staged.capabilities.map((c) => c.name),
        },
        "plugin loaded",
      );
      return true;
    } catch (err) {
      log.error({ err }, "plugin failed at setup; skipped");
      return false;
    }
  }

  #stagingApi(staged: RegisteredPlugin, log: Logger): PluginApi {
    const overrides = this.#settings.toolCapabilities;
    return {
      name: staged.name,
      z,
      ToolError,
      logger: log,
      registerTool: (tool) => {
        if (!ToolNameSchema.safeParse(tool?.name).success) {
          throw new Error(`invalid tool name ${JSON.stringify(tool?.name).slice(0, 80)}`);
        }
        if (this.#tools.has(tool.name) || staged.tools.some((t) => t.name === tool.name)) {
          throw new Error(`tool ${tool.name} is already registered`);
        }
        if (typeof tool.handler !== "function") throw new Error(`tool ${tool.name} has no handler`);
        if (!tool.args || typeof (tool.args as z.ZodType).safeParse !== "function") {
          throw new Error(`tool ${tool.name} needs a zod schema as args`);
        }
        const capabilities = overrides[tool.name] ?? tool.capabilities ?? [ANY_CAPABILITY];
        staged.tools.push({
          plugin: staged.name,
          name: tool.name,
          description: String(tool.description ?? "").slice(0, 2000),
          args: tool.args,
          argsJsonSchema: jsonSchemaOf(tool.args),
          capabilities: [...capabilities],
          // Bound: a handler written as a method may use `this` (its tool definition).
          handler: tool.handler.bind(tool) as RegisteredTool["handler"],
        });
      },
      hook: (event, handler) => {
        if (!HOOK_EVENTS.has(event)) throw new Error(`unknown hook event ${String(event).slice(0, 80)}`);
        if (typeof handler !== "function") throw new Error(`the ${event} hook is not a function`);
        // Stored untyped: `dispatch` only ever calls it with an event of the type it was hooked on.
        staged.hooks.push({ plugin: staged.name, event, handler: handler as unknown as HookHandler });
      },
      declareCapability: (declaration) => {
        const parsed = CapabilityDeclarationSchema.safeParse({
          name: declaration?.name,
          description: declaration?.description ?? "",
          tools: [...(declaration?.tools ?? [])],
        });
        if (!parsed.success) throw new Error(`invalid capability declaration: ${parsed.error.message}`);
        staged.capabilities.push(parsed.data);
      },
    };
  }

  /** Whether a plugin of this name is loaded. */
  has(name: string): boolean {
    return this.#plugins.has(name);
  }

  tool(name: string): RegisteredTool | undefined {
    return this.#tools.get(name);
  }

  /**
   * Whether agents running a task of `capability` may call `tool`: the tool allows it (or `*`), or
   * a loaded plugin's declaration of that capability grants the tool.
   */
  isAllowed(tool: RegisteredTool, capability: string, enabled: (plugin: string) => boolean): boolean {
    if (tool.capabilities.includes(ANY_CAPABILITY) || tool.capabilities.includes(capability)) return true;
    for (const plugin of this.#plugins.values()) {
      if (!enabled(plugin.name)) continue;
      for (const declared of plugin.capabilities) {
        if (declared.name === capability && declared.tools.includes(tool.name)) return true;
      }
    }
    return false;
  }

  /** The plugins as the API lists them; `enabled` reads the persisted state. */
  list(enabled: (plugin: string) => boolean): Plugin[] {
    const order = (p: RegisteredPlugin) => (p.source === "builtin" ? 0 : 1);
    return [...this.#plugins.values()]
      .sort((a, b) => order(a) - order(b) || (a.source === "builtin" ? 0 : a.name.localeCompare(b.name)))
      .map((p) => this.#describe(p, enabled(p.name)));
  }

  describe(name: string, enabled: boolean): Plugin | undefined {
    const plugin = this.#plugins.get(name);
    return plugin ? this.#describe(plugin, enabled) : undefined;
  }

  #describe(p: RegisteredPlugin, enabled: boolean): Plugin {
    return {
      name: p.name,
      source: p.source,
      enabled,
      description: p.description,
      tools: p.tools.map((t) => ({
        name: t.name,
        description: t.description,
        capabilities: [...t.capabilities],
        args_schema: t.argsJsonSchema,
      })),
      hooks: [...new Set(p.hooks.map((h) => h.event))],
      capabilities: p.capabilities.map((c) => ({ ...c, tools: [...c.tools] })),
    };
  }

  /**
   * Runs a tool: arguments through its schema (a 422 refusal when they do not fit), then its
   * handler under the tool timeout. Never throws: the outcome says what happened, with every
   * message and result masked (paths, stack frames). An unexpected throw is logged with its stack
   * and reaches the caller only as "the tool failed".
   */
  async invoke(
    tool: RegisteredTool,
    args: unknown,
    call: Omit<ToolCallContext, "signal" | "logger"> & { requestId?: string | undefined },
  ): Promise<ToolRun> {
    const started = Date.now();
    const elapsed = () => Date.now() - started;
    const parsed = tool.args.safeParse(args);
    if (!parsed.success) {
      return {
        kind: "refused",
        error: ValidationError.fromZod(parsed.error, `Arguments do not fit tool ${tool.name}'s schema`),
        ran: false,
        durationMs: elapsed(),
      };
    }
    const log = this.#logger.child({
      plugin: tool.plugin,
      tool: tool.name,
      task_id: call.taskId,
      agent_id: call.agentId,
      ...(call.requestId ? { request_id: call.requestId } : {}),
    });
    let value: unknown;
    try {
      value = await withTimeout(this.#settings.toolTimeoutMs, this.#life.signal, (signal) =>
        tool.handler(parsed.data, {
          taskId: call.taskId,
          attempt: call.attempt,
          agentId: call.agentId,
          capability: call.capability,
          signal,
          logger: log,
        }),
      );
    } catch (err) {
      return { ...this.#failureOf(err, tool, log), durationMs: elapsed() };
    }
    let json: string | undefined;
    try {
      json = JSON.stringify(value === undefined ? null : value);
    } catch (err) {
      log.warn({ err }, "tool returned a value that is not JSON");
      return {
        kind: "failure",
        error: { code: "internal", message: `Tool ${tool.name} returned a value that is not JSON` },
        durationMs: elapsed(),
      };
    }
    if (json === undefined || Buffer.byteLength(json) > TOOL_RESULT_MAX_BYTES) {
      return {
        kind: "failure",
        error: {
          code: "payload_too_large",
          message: `Tool ${tool.name}'s result is over ${TOOL_RESULT_MAX_BYTES} bytes`,
        },
        durationMs: elapsed(),
      };
    }
    return { kind: "result", result: this.redact(JSON.parse(json) as unknown), durationMs: elapsed() };
  }

  #failureOf(
    err: unknown,
    tool: RegisteredTool,
    log: Logger,
  ): { kind: "refused"; error: M3shdError; ran: true } | { kind: "failure"; error: ToolFailure } {
    if (isM3shdError(err) && REFUSALS.has(err.code)) {
      // Details are dropped: only the (masked) message is the tool's deliberate word to the agent.
      return { kind: "refused", error: new M3shdError(err.code, this.redact(err.message)), ran: true };
    }
    if (isM3shdError(err) && err.code === "unavailable") {
      log.warn({ reason: err.message }, "tool unavailable");
      return { kind: "failure", error: { code: "unavailable", message: this.redact(err.message) } };
    }
    if (isTimeout(err)) {
      log.warn({ timeout_ms: this.#settings.toolTimeoutMs }, "tool timed out");
      return {
        kind: "failure",
        error: {
          code: "unavailable",
          message: `Tool ${tool.name} timed out after ${this.#settings.toolTimeoutMs} ms`,
        },
      };
    }
    log.error({ err }, "tool failed");
    return { kind: "failure", error: { code: "internal", message: `Tool ${tool.name} failed` } };
  }

  /**
   * Hands a mesh event to the hooks registered for its type, off the caller's path: each hook runs
   * later (never inside the publisher's call), under the hook timeout; one that throws or hangs is
   * logged and affects nothing else. At most `hooksInFlightMax` run at once; beyond that a hook
   * run is dropped with a warning rather than queued without bound.
   */
  dispatch(event: MeshEvent, enabled: () => (plugin: string) => boolean): void {
    if (!HOOK_EVENTS.has(event.type) || this.#life.signal.aborted) return;
    const type = event.type as PluginHookEvent;
    const hooks: RegisteredHook[] = [];
    for (const plugin of this.#plugins.values()) {
      for (const hook of plugin.hooks) if (hook.event === type) hooks.push(hook);
    }
    if (hooks.length === 0) return;
    setImmediate(() => {
      let isEnabled: (plugin: string) => boolean;
      try {
        isEnabled = enabled();
      } catch (err) {
        this.#logger.error({ err, event: type }, "plugin hooks skipped: cannot read plugin states");
        return;
      }
      for (const hook of hooks) {
        if (!isEnabled(hook.plugin)) continue;
        if (this.#hooksInFlight >= this.#settings.hooksInFlightMax) {
          this.#logger.warn(
            { plugin: hook.plugin, event: type, in_flight: this.#hooksInFlight },
            "plugin hook dropped: too many running",
          );
          continue;
        }
        void this.#runHook(hook, event);
      }
    });
  }

  async #runHook(hook: RegisteredHook, event: MeshEvent): Promise<void> {
    this.#hooksInFlight++;
    const log = this.#logger.child({ plugin: hook.plugin, event: hook.event, event_id: event.id });
    const started = Date.now();
    try {
      await withTimeout(this.#settings.hookTimeoutMs, this.#life.signal, (signal) =>
        hook.handler(event.data as never, { event: hook.event, signal, logger: log }),
      );
      log.debug({ ms: Date.now() - started }, "plugin hook ran");
    } catch (err) {
      if (isTimeout(err)) log.warn({ timeout_ms: this.#settings.hookTimeoutMs }, "plugin hook timed out");
      else log.warn({ err }, "plugin hook failed");
    } finally {
      this.#hooksInFlight--;
      if (this.#hooksInFlight === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  /** Resolves once no hook is running (tests; a graceful stop). */
  idle(): Promise<void> {
    if (this.#hooksInFlight === 0) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Aborts running hooks and tool calls; no hook starts after this. */
  close(): void {
    this.#life.abort(new Error("hub stopping"));
  }
}

export type { RegisteredTool };
