import { AgentIdSchema, UpdateAgentSettingsBodySchema } from "@m3shd/protocol";
import { jsonBody, pathParams } from "@m3shd/service-kit";
import { z } from "zod";
import { authorize } from "../middleware/auth";
import { getAgentSettings, updateAgentSettings } from "../services/costs";
import type { HubApp, RouteDeps } from "../types";

const AgentPath = z.object({ id: AgentIdSchema });

/**
 * An agent's escalation target and daily token cap, with today's spend. Changing them is
 * `agents:admin`: a budget is a limit set on an agent, never by it.
 */
export function registerAgentSettingsRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.get("/api/agents/:id/settings", authorize("agents:read", authenticate), pathParams(AgentPath), (c) =>
    c.json({ settings: getAgentSettings(ctx, c.req.valid("param").id) }),
  );

  app.put(
    "/api/agents/:id/settings",
    authorize("agents:admin", authenticate),
    pathParams(AgentPath),
    ...jsonBody(UpdateAgentSettingsBodySchema, 16 * 1024),
    (c) => c.json({ settings: updateAgentSettings(ctx, c.req.valid("param").id, c.req.valid("json")) }),
  );
}
