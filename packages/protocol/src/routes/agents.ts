import { z } from "zod";
import { AgentListResponseSchema, AgentSchema } from "../agent";
import { defineRoute } from "../route";
import { AgentSettingsSchema, UpdateAgentSettingsBodySchema } from "../workflow-api";
import { SMALL_BODY_BYTES } from "./common";
import { AgentPathSchema } from "./tasks";

/** `GET /api/agents/:id`. */
export const AgentResponseSchema = z.object({ agent: AgentSchema });
export type AgentResponse = z.infer<typeof AgentResponseSchema>;

/** `GET|PUT /api/agents/:id/settings`. */
export const AgentSettingsResponseSchema = z.object({ settings: AgentSettingsSchema });
export type AgentSettingsResponse = z.infer<typeof AgentSettingsResponseSchema>;

export const listAgentsRoute = defineRoute({
  id: "agents.list",
  method: "GET",
  path: "/api/agents",
  permission: "agents:read",
  summary: "List agents with their live status and load",
  tags: ["agents"],
  responses: { 200: AgentListResponseSchema },
});

export const getAgentRoute = defineRoute({
  id: "agents.get",
  method: "GET",
  path: "/api/agents/:id",
  permission: "agents:read",
  summary: "Get one agent",
  tags: ["agents"],
  params: AgentPathSchema,
  responses: { 200: AgentResponseSchema },
  errors: [404],
});

export const getAgentSettingsRoute = defineRoute({
  id: "agents.settings",
  method: "GET",
  path: "/api/agents/:id/settings",
  permission: "agents:read",
  summary: "Get an agent's escalation target and daily token cap, with today's spend",
  tags: ["agents"],
  params: AgentPathSchema,
  responses: { 200: AgentSettingsResponseSchema },
  errors: [404],
});

export const updateAgentSettingsRoute = defineRoute({
  id: "agents.updateSettings",
  method: "PUT",
  path: "/api/agents/:id/settings",
  permission: "agents:admin",
  summary: "Change an agent's escalation target or daily token cap",
  description:
    "A budget is a limit set on an agent, never by it: `agents:admin`, which no agent preset holds.",
  tags: ["agents"],
  params: AgentPathSchema,
  body: UpdateAgentSettingsBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 200: AgentSettingsResponseSchema },
  errors: [404],
});

/** Operator view of agents and their settings. */
export const AGENT_ROUTES = [
  listAgentsRoute,
  getAgentRoute,
  getAgentSettingsRoute,
  updateAgentSettingsRoute,
] as const;
