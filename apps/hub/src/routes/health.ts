import type { HealthResponse } from "@m3shd/protocol";
import { sql } from "drizzle-orm";
import { authorize } from "../middleware/auth";
import type { HubApp, RouteDeps } from "../types";

/** `GET /api/health` — unauthenticated: database, queue driver and Redis reachability. */
export function registerHealthRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.get("/api/health", authorize("public", authenticate), async (c) => {
    let db: "ok" | "down" = "ok";
    try {
      ctx.database.db.get(sql`select 1`);
    } catch {
      db = "down";
    }
    const redis = await ctx.queue.driver.ping();
    const body: HealthResponse = {
      status: db === "ok" && redis !== "down" ? "ok" : "degraded",
      db,
      queue: { driver: ctx.queue.driver.kind, redis },
      version: ctx.config.version,
      uptime_s: Math.floor((ctx.now() - ctx.startedAt) / 1000),
    };
    return c.json(body, body.status === "ok" ? 200 : 503);
  });
}
