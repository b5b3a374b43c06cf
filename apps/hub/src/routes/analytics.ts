import {
  agentAnalyticsRoute,
  costAnalyticsRoute,
  summaryAnalyticsRoute,
  taskAnalyticsRoute,
} from "@m3shd/protocol";
import { agentAnalytics, costAnalytics, summaryAnalytics, taskAnalytics } from "../services/analytics";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** `GET /api/admin/analytics/{tasks,costs,agents,summary}?days=N` (default 7, at most 366). */
export function registerAnalyticsRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, taskAnalyticsRoute, authenticate, (_c, { query }) => ({
    status: 200,
    body: taskAnalytics(ctx, query.days),
  }));
  handle(app, costAnalyticsRoute, authenticate, (_c, { query }) => ({
    status: 200,
    body: costAnalytics(ctx, query.days),
  }));
  handle(app, agentAnalyticsRoute, authenticate, async (_c, { query }) => ({
    status: 200,
    body: await agentAnalytics(ctx, query.days),
  }));
  handle(app, summaryAnalyticsRoute, authenticate, async (_c, { query }) => ({
    status: 200,
    body: await summaryAnalytics(ctx, query.days),
  }));
}
