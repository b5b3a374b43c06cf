import { AnalyticsQuerySchema } from "@m3shd/protocol";
import { queryParams } from "@m3shd/service-kit";
import { authorize } from "../middleware/auth";
import { agentAnalytics, costAnalytics, summaryAnalytics, taskAnalytics } from "../services/analytics";
import type { HubApp, RouteDeps } from "../types";

/** `GET /api/admin/analytics/{tasks,costs,agents,summary}?days=N` (default 7, at most 366). */
export function registerAnalyticsRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  const query = queryParams(AnalyticsQuerySchema);
  app.get("/api/admin/analytics/tasks", authorize("admin:analytics", authenticate), query, (c) =>
    c.json(taskAnalytics(ctx, c.req.valid("query").days)),
  );
  app.get("/api/admin/analytics/costs", authorize("admin:analytics", authenticate), query, (c) =>
    c.json(costAnalytics(ctx, c.req.valid("query").days)),
  );
  app.get("/api/admin/analytics/agents", authorize("admin:analytics", authenticate), query, async (c) =>
    c.json(await agentAnalytics(ctx, c.req.valid("query").days)),
  );
  app.get("/api/admin/analytics/summary", authorize("admin:analytics", authenticate), query, async (c) =>
    c.json(await summaryAnalytics(ctx, c.req.valid("query").days)),
  );
}
