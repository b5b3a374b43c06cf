import { HealthResponseSchema } from "../health";
import { defineRoute } from "../route";

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

export const HEALTH_ROUTES = [healthRoute] as const;
