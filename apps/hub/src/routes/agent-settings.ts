import { getAgentSettingsRoute, updateAgentSettingsRoute } from "@m3shd/protocol";
import { getAgentSettings, updateAgentSettings } from "../services/costs";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/**
 * An agent's escalation target and daily token cap, with today's spend. Changing them is
 * `agents:admin`: a budget is a limit set on an agent, never by it.
 */
export function registerAgentSettingsRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, getAgentSettingsRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: { settings: getAgentSettings(ctx, params.id) },
  }));

  handle(app, updateAgentSettingsRoute, authenticate, (_c, { params, body }) => ({
    status: 200,
    body: { settings: updateAgentSettings(ctx, params.id, body) },
  }));
}
