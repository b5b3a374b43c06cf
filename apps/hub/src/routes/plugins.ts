import { invokeToolRoute, listPluginsRoute, updatePluginRoute } from "@m3shd/protocol";
import { actingAgent, principalOf } from "../middleware/auth";
import { invokeTool, listPlugins, setPluginState } from "../services/plugins";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/**
 * Plugins: anyone who may read agents lists them; enabling and disabling is `admin:plugins`;
 * invoking a tool is a worker's write about its own running task (`tasks:write`, plus the
 * assignee and attempt checks in the service).
 */
export function registerPluginRoutes(app: HubApp, { ctx, authenticate, plugins }: RouteDeps) {
  handle(app, listPluginsRoute, authenticate, () => ({
    status: 200,
    body: { plugins: listPlugins(ctx, plugins) },
  }));

  handle(app, updatePluginRoute, authenticate, (c, { params, body }) => ({
    status: 200,
    body: { plugin: setPluginState(ctx, plugins, params.name, body.enabled, principalOf(c).subject) },
  }));

  handle(app, invokeToolRoute, authenticate, async (c, { params, body }) => ({
    status: 200,
    body: await invokeTool(ctx, plugins, {
      tool: params.tool,
      agentId: actingAgent(c),
      body,
      requestId: c.get("requestId"),
    }),
  }));
}
