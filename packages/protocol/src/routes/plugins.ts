import {
  INVOKE_BODY_BYTES,
  InvokeToolBodySchema,
  InvokeToolResponseSchema,
  PluginListResponseSchema,
  PluginPathSchema,
  PluginResponseSchema,
  ToolPathSchema,
  UpdatePluginBodySchema,
} from "../plugin";
import { defineRoute } from "../route";
import { SMALL_BODY_BYTES } from "./common";

export const listPluginsRoute = defineRoute({
  id: "plugins.list",
  method: "GET",
  path: "/api/plugins",
  // A catalogue of what agents can do, like `GET /api/agents`: workers read it to learn their tools.
  permission: "agents:read",
  summary: "List plugins: their tools, hooks, capability declarations and enabled state",
  tags: ["plugins"],
  responses: { 200: PluginListResponseSchema },
});

export const updatePluginRoute = defineRoute({
  id: "plugins.update",
  method: "PUT",
  path: "/api/plugins/:name",
  permission: "admin:plugins",
  summary: "Enable or disable a plugin (persisted)",
  description:
    "A disabled plugin's tools are refused with 409 and its hooks stop running, on every hub sharing the database. " +
    "Setting the state it already has changes nothing.",
  tags: ["plugins"],
  params: PluginPathSchema,
  body: UpdatePluginBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 200: PluginResponseSchema },
  errors: [404],
});

export const invokeToolRoute = defineRoute({
  id: "plugins.invoke",
  method: "POST",
  path: "/api/plugins/:tool/invoke",
  // A worker's write about its own running task, like `PUT /api/tasks/:id`: every worker token has
  // `tasks:write`, and the handler also requires the caller to hold the task under `attempt`.
  permission: "tasks:write",
  summary: "Call a tool for a running task (its assigned agent)",
  description:
    "The task must be `running`, assigned to the calling agent, under the given attempt (409 `stale_attempt` " +
    "otherwise), and the tool allowed for the task's capability (403). Arguments are validated by the tool's " +
    "schema (422). A tool that ran answers 200, with `ok: false` when it failed; refusals are error envelopes. " +
    "Not idempotent: a tool may have effects (a notification). Each call is announced as `plugin_invoked`.",
  tags: ["plugins", "worker"],
  params: ToolPathSchema,
  body: InvokeToolBodySchema,
  bodyLimitBytes: INVOKE_BODY_BYTES,
  responses: { 200: InvokeToolResponseSchema },
  errors: [403, 404, 409, 413, 422],
});

export const PLUGIN_ROUTES = [listPluginsRoute, updatePluginRoute, invokeToolRoute] as const;
