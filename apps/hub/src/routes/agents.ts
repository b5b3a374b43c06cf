import { AgentIdSchema } from "@m3shd/protocol";
import { pathParams } from "@m3shd/service-kit";
import { z } from "zod";
import { authorize } from "../middleware/auth";
import { getAgent, listAgents } from "../services/agents";
import type { HubApp, RouteDeps } from "../types";

/** Operator view of agents. */
export function registerAgentRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.get("/api/agents", authorize("agents:read", authenticate), async (c) =>
    c.json({ agents: await listAgents(ctx) }),
  );

  app.get(
    "/api/agents/:id",
    authorize("agents:read", authenticate),
    pathParams(z.object({ id: AgentIdSchema })),
    async (c) => c.json({ agent: await getAgent(ctx, c.req.valid("param").id) }),
  );
}
