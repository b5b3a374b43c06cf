import { z } from "zod";
import { AgentSchema } from "../agent";
import { defineRoute, rawResponse } from "../route";
import { ListTasksQuerySchema, TaskListResponseSchema } from "../task";
import { ApprovalListResponseSchema } from "../workflow-api";
import { TaskPathSchema, TaskResponseSchema } from "./tasks";

/**
 * The public demo dashboard's read-only API (`M3SHD_DEMO=1`; 404 otherwise). Unauthenticated, so
 * every answer is redacted by the hub — prompts, outputs, errors, partial outputs, approval
 * descriptions and agent metadata are replaced — and every route is rate limited per client IP
 * (30 requests a minute across the demo). GETs only: no write is reachable from the demo.
 */

/** The placeholder every redacted string carries. */
export const DEMO_REDACTED = "[redacted]";

export const DemoAgentListResponseSchema = z.object({ agents: z.array(AgentSchema) });
export type DemoAgentListResponse = z.infer<typeof DemoAgentListResponseSchema>;

export const demoPageRoute = defineRoute({
  id: "demo.page",
  method: "GET",
  path: "/demo",
  permission: "public",
  summary: "Demo: the public read-only dashboard",
  tags: ["demo"],
  responses: { 200: rawResponse("text/html") },
  errors: [404, 429],
});

export const demoAgentsRoute = defineRoute({
  id: "demo.agents",
  method: "GET",
  path: "/demo/api/agents",
  permission: "public",
  summary: "Demo: the fleet, redacted",
  tags: ["demo"],
  responses: { 200: DemoAgentListResponseSchema },
  errors: [404, 429],
});

export const demoTasksRoute = defineRoute({
  id: "demo.tasks",
  method: "GET",
  path: "/demo/api/tasks",
  permission: "public",
  summary: "Demo: tasks, newest first, prompts and outputs redacted",
  tags: ["demo"],
  query: ListTasksQuerySchema,
  responses: { 200: TaskListResponseSchema },
  errors: [404, 422, 429],
});

export const demoTaskRoute = defineRoute({
  id: "demo.task",
  method: "GET",
  path: "/demo/api/tasks/:id",
  permission: "public",
  summary: "Demo: one task, redacted",
  tags: ["demo"],
  params: TaskPathSchema,
  responses: { 200: TaskResponseSchema },
  errors: [404, 422, 429],
});

export const demoApprovalsRoute = defineRoute({
  id: "demo.approvals",
  method: "GET",
  path: "/demo/api/approvals",
  permission: "public",
  summary: "Demo: pending approvals, descriptions redacted",
  tags: ["demo"],
  responses: { 200: ApprovalListResponseSchema },
  errors: [404, 429],
});

export const DEMO_ROUTES = [
  demoPageRoute,
  demoAgentsRoute,
  demoTasksRoute,
  demoTaskRoute,
  demoApprovalsRoute,
] as const;
