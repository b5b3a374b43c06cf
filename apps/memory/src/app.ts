import { NotFoundError } from "@m3shd/protocol";
import { httpMetrics, type Registry } from "@m3shd/service-kit";
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { type Logger, pino } from "pino";
import type { MemoryEnv } from "./http/auth";
import { errorResponse } from "./http/errors";
import { registerAgentMemoryRoutes } from "./routes/agent-memory";
import { registerInternalRoutes } from "./routes/internal";
import { registerMemoryAdminRoutes } from "./routes/memory-admin";
import type { MemoryService } from "./service";

export type MemoryApp = Hono<MemoryEnv>;

export interface MemoryAppDeps {
  service: MemoryService;
  /** Shared secret the hub presents as `Authorization: Bearer …` (≥ 32 characters). */
  serviceToken: string;
  logger?: Logger;
  /** Request counts and latency by route and status go here (the standalone process's `/metrics`). */
  metrics?: Registry;
}

/** Minimum service token length: it is the only thing standing between the network and every memory. */
export const SERVICE_TOKEN_MIN_CHARS = 32;

/**
 * The memory service's HTTP API. No `listen`, no env reads: `index.ts` serves it, tests call
 * `app.request()`, the in-process client calls `app.fetch()`.
 */
export function createMemoryApp(deps: MemoryAppDeps): MemoryApp {
  if (deps.serviceToken.length < SERVICE_TOKEN_MIN_CHARS) {
    throw new TypeError(`The memory service token must be at least ${SERVICE_TOKEN_MIN_CHARS} characters`);
  }
  const logger = deps.logger ?? pino({ level: "silent" });
  const app: MemoryApp = new Hono<MemoryEnv>();
  if (deps.metrics) app.use("*", httpMetrics(deps.metrics));
  app.use("*", requestId({ headerName: "X-Request-Id", limitLength: 64 }));
  app.onError((err, c) => errorResponse(err, c, logger));
  app.notFound((c) => errorResponse(new NotFoundError("route", `${c.req.method} ${c.req.path}`), c, logger));
  registerInternalRoutes(app, deps);
  registerAgentMemoryRoutes(app, deps);
  registerMemoryAdminRoutes(app, deps);
  return app;
}
