import { readSweeperStatus } from "@m3shd/db";
import { type HealthResponse, healthRoute, metricsRoute, type SweeperStatus } from "@m3shd/protocol";
import { PROMETHEUS_CONTENT_TYPE } from "@m3shd/service-kit";
import { sql } from "drizzle-orm";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** `GET /api/health` — unauthenticated: database, queue driver, Redis reachability and each dispatcher sweep's last run; `GET /metrics`. */
export function registerHealthRoutes(app: HubApp, { ctx, authenticate, metrics }: RouteDeps) {
  handle(app, healthRoute, authenticate, async () => {
    let db: "ok" | "down" = "ok";
    try {
      ctx.database.db.get(sql`select 1`);
    } catch {
      db = "down";
    }
    const redis = await ctx.queue.driver.ping();
    // Sweeps are recorded in the database by whichever dispatcher ran them (in this process or
    // another one in split mode); wall clock, like the timers that drive them.
    let sweepers: SweeperStatus[] = [];
    if (db === "ok") {
      try {
        sweepers = readSweeperStatus(ctx.database.db, Date.now());
      } catch {
        db = "down";
      }
    }
    const body: HealthResponse = {
      status: db === "ok" && redis !== "down" && !sweepers.some((s) => s.overdue) ? "ok" : "degraded",
      db,
      queue: { driver: ctx.queue.driver.kind, redis },
      version: ctx.config.version,
      uptime_s: Math.floor((ctx.now() - ctx.startedAt) / 1000),
      sweepers,
    };
    return body.status === "ok" ? { status: 200, body } : { status: 503, body };
  });

  // `GET /metrics` — Prometheus text for a scraper holding `admin:analytics` (see the descriptor).
  handle(app, metricsRoute, authenticate, async (c) =>
    c.body(await metrics.registry.metrics(), 200, { "content-type": PROMETHEUS_CONTENT_TYPE }),
  );
}
