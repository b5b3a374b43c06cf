import { getTask as dbGetTask, isPluginEnabled, listPluginStates, setPluginEnabled } from "@m3shd/db";
import {
  ConflictError,
  ForbiddenError,
  type InvokeToolBody,
  type InvokeToolResponse,
  NotFoundError,
  type Plugin,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import type { PluginManager } from "../plugins/manager";
import { audited } from "./audit";
import { emit } from "./events";
import { requireAssignee, requireCurrentAttempt } from "./tasks";

/** Reads every persisted plugin state once; a plugin without a row is enabled. */
export function pluginStates(ctx: HubContext): (plugin: string) => boolean {
  const states = listPluginStates(ctx.database.db);
  return (plugin) => states.get(plugin) ?? true;
}

/** `GET /api/plugins`. */
export function listPlugins(ctx: HubContext, plugins: PluginManager): Plugin[] {
  return plugins.list(pluginStates(ctx));
}

/**
 * `PUT /api/plugins/:name`: enables or disables a loaded plugin, persisted (every hub sharing the
 * database follows it on its next call or event). Setting the state it already has writes nothing
 * and records no action.
 */
export function setPluginState(
  ctx: HubContext,
  plugins: PluginManager,
  name: string,
  enabled: boolean,
  actor: string,
): Plugin {
  if (!plugins.has(name)) throw new NotFoundError("plugin", name);
  audited(
    ctx,
    enabled ? "plugin.enable" : "plugin.disable",
    (tx) => setPluginEnabled(tx, { name, enabled, updatedBy: actor, now: ctx.now() }),
    (changed) => (changed ? name : undefined),
  );
  const plugin = plugins.describe(name, isPluginEnabled(ctx.database.db, name));
  if (!plugin) throw new NotFoundError("plugin", name);
  return plugin;
}

/**
 * `POST /api/plugins/:tool/invoke`: the calling agent runs `tool` for its task. Refused before
 * the tool runs — each an error envelope — when the tool is unknown (404), the task is missing
 * (404), another agent's (403) or not running (409), the attempt is stale (409 `stale_attempt`),
 * the tool's plugin is disabled (409), the tool is not allowed for the task's capability (403),
 * or the arguments do not fit its schema (422). A tool that ran answers its result, or `ok: false`
 * with why it failed; a refusal the tool itself makes (a path outside its root) is an envelope.
 * Every run is announced as `plugin_invoked`.
 *
 * The checks read the task outside a transaction on purpose: a tool call may take seconds and must
 * not hold SQLite's write lock. A task reclaimed while its tool runs is caught by fencing on the
 * worker's next write; the tool itself only reads or notifies.
 */
export async function invokeTool(
  ctx: HubContext,
  plugins: PluginManager,
  input: { tool: string; agentId: string | null; body: InvokeToolBody; requestId?: string | undefined },
): Promise<InvokeToolResponse> {
  const { body } = input;
  const tool = plugins.tool(input.tool);
  if (!tool) throw new NotFoundError("tool", input.tool);
  const db = ctx.database.db;
  const row = dbGetTask(db, body.task_id);
  if (!row) throw new NotFoundError("task", body.task_id);
  const agentId = requireAssignee(row, input.agentId);
  requireCurrentAttempt(row, body.attempt);
  if (row.status !== "running") {
    throw new ConflictError(`Task ${row.id} is ${row.status}, not running`, {
      task_id: row.id,
      status: row.status,
    });
  }
  const enabled = pluginStates(ctx);
  if (!enabled(tool.plugin)) {
    throw new ConflictError(`Tool ${tool.name} is disabled (plugin ${tool.plugin})`, {
      tool: tool.name,
      plugin: tool.plugin,
    });
  }
  if (!plugins.isAllowed(tool, row.requiredCapability, enabled)) {
    throw new ForbiddenError(
      `Tool ${tool.name} is not allowed for tasks of capability ${row.requiredCapability}`,
      { tool: tool.name, capability: row.requiredCapability },
    );
  }
  const run = await plugins.invoke(tool, body.args, {
    taskId: row.id,
    attempt: body.attempt,
    agentId,
    capability: row.requiredCapability,
    requestId: input.requestId,
  });
  const duration_ms = Math.max(0, Math.round(run.durationMs));
  // Arguments that do not fit the schema never reach the tool: nothing ran, nothing to announce.
  if (run.kind !== "refused" || run.ran) {
    await emit(ctx, "plugin_invoked", {
      tool: tool.name,
      plugin: tool.plugin,
      task_id: row.id,
      agent_id: agentId,
      attempt: body.attempt,
      ok: run.kind === "result",
      error_code: run.kind === "result" ? null : run.error.code,
      duration_ms,
    });
  }
  if (run.kind === "refused") throw run.error;
  if (run.kind === "failure") return { tool: tool.name, ok: false, error: run.error, duration_ms };
  return { tool: tool.name, ok: true, result: run.result, duration_ms };
}
