import { type HealthResponse, healthRoute } from "@m3shd/protocol";
import { sql } from "drizzle-orm";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** `GET /api/health` — unauthenticated: database, queue driver and Redis reachability. */
export function registerHealthRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, healthRoute, authenticate, async () => {
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
    return body.status === "ok" ? { status: 200, body } : { status: 503, body };
  });
}
