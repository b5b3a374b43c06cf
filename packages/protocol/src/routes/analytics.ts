import {
  AgentAnalyticsSchema,
  AnalyticsQuerySchema,
  CostAnalyticsSchema,
  SummaryAnalyticsSchema,
  TaskAnalyticsSchema,
} from "../analytics";
import { defineRoute } from "../route";

const WINDOW = "The window is the last `days` UTC days including today (default 7, at most 366).";

export const taskAnalyticsRoute = defineRoute({
  id: "analytics.tasks",
  method: "GET",
  path: "/api/admin/analytics/tasks",
  permission: "admin:analytics",
  summary: "Task counts by status, agent and day",
  description: `${WINDOW} Counts the tasks created in the window.`,
  tags: ["analytics"],
  query: AnalyticsQuerySchema,
  responses: { 200: TaskAnalyticsSchema },
});

export const costAnalyticsRoute = defineRoute({
  id: "analytics.costs",
  method: "GET",
  path: "/api/admin/analytics/costs",
  permission: "admin:analytics",
  summary: "Token spend and cost by agent, model and day",
  description: `${WINDOW} Sums the cost log rows written in the window.`,
  tags: ["analytics"],
  query: AnalyticsQuerySchema,
  responses: { 200: CostAnalyticsSchema },
});

export const agentAnalyticsRoute = defineRoute({
  id: "analytics.agents",
  method: "GET",
  path: "/api/admin/analytics/agents",
  permission: "admin:analytics",
  summary: "Per-agent success rate, latency and spend",
  description: WINDOW,
  tags: ["analytics"],
  query: AnalyticsQuerySchema,
  responses: { 200: AgentAnalyticsSchema },
});

export const summaryAnalyticsRoute = defineRoute({
  id: "analytics.summary",
  method: "GET",
  path: "/api/admin/analytics/summary",
  permission: "admin:analytics",
  summary: "Dashboard headline figures",
  description: WINDOW,
  tags: ["analytics"],
  query: AnalyticsQuerySchema,
  responses: { 200: SummaryAnalyticsSchema },
});

export const ANALYTICS_ROUTES = [
  taskAnalyticsRoute,
  costAnalyticsRoute,
  agentAnalyticsRoute,
  summaryAnalyticsRoute,
] as const;
