import { HealthResponseSchema } from "../health";
import { defineRoute, rawResponse } from "../route";

export const healthRoute = defineRoute({
  id: "health.get",
  method: "GET",
  path: "/api/health",
  permission: "public",
  summary: "Database, queue driver and Redis reachability",
  description: "Unauthenticated. 200 when every dependency answers, 503 (same body, `degraded`) otherwise.",
  tags: ["health"],
  responses: { 200: HealthResponseSchema, 503: HealthResponseSchema },
});

/**
 * Prometheus metrics. Behind `admin:analytics` (the permission of the analytics views, which
 * show the same counts) rather than public: the hub is the one service facing users, and its
 * metrics tell an outsider the fleet's size, load and failure rate. A scraper gets an API key
 * holding only this permission (`POST /api/keys` with `permissions: ["admin:analytics"]`).
 */
export const metricsRoute = defineRoute({
  id: "metrics.get",
  method: "GET",
  path: "/metrics",
  permission: "admin:analytics",
  summary: "Prometheus metrics of this hub process (text exposition format 0.0.4)",
  description:
    "HTTP requests and latency by route and status, tasks by status, agents and circuit breakers by state, queue depths, SSE subscribers and drops, memory recall latency, and process metrics. Counters are this process's; the task, agent and breaker gauges are read from the shared database at scrape time. See docs/operations.md.",
  tags: ["health"],
  responses: { 200: rawResponse("text/plain") },
});

export const HEALTH_ROUTES = [healthRoute, metricsRoute] as const;
