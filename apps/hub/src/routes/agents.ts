import { getAgentRoute, listAgentsRoute } from "@m3shd/protocol";
import { getAgent, listAgents } from "../services/agents";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** Operator view of agents. */
export function registerAgentRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, listAgentsRoute, authenticate, async () => ({
    status: 200,
    body: { agents: await listAgents(ctx) },
  }));

  handle(app, getAgentRoute, authenticate, async (_c, { params }) => ({
    status: 200,
    body: { agent: await getAgent(ctx, params.id) },
  }));
}
