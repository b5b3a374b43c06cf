import { EVENT_TYPES, type MeshEvent, NotFoundError } from "@m3shd/protocol";
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { HubContext } from "./context";
import { StreamHub } from "./events/stream-hub";
import { Waiters } from "./events/waiters";
import { type Authenticator, masterAuthenticator } from "./middleware/auth";
import { errorResponse } from "./middleware/errors";
import { registerAgentRoutes } from "./routes/agents";
import { registerHealthRoutes } from "./routes/health";
import { registerProvenanceRoutes } from "./routes/provenance";
import { registerStreamRoutes } from "./routes/stream";
import { registerTaskRoutes } from "./routes/tasks";
import { registerWorkerRoutes } from "./routes/worker";
import type { HubApp, HubEnv, RouteDeps } from "./types";

export interface CreateHubOptions {
  /** Resolves bearer tokens; default accepts only the master token. */
  authenticate?: Authenticator;
}

export interface Hub {
  app: HubApp;
  ctx: HubContext;
  streamHub: StreamHub;
  waiters: Waiters;
  /** Stop listening to the bus and end every open stream and long-poll. */
  close(): void;
}

const KNOWN_EVENTS: ReadonlySet<string> = new Set(EVENT_TYPES);

/**
 * Builds the hub: routes, middleware, and the bus subscription that feeds SSE subscribers and
 * wakes long-polls. No `listen`, no env reads — `index.ts` does that; tests call this directly.
 */
export function createHub(ctx: HubContext, options: CreateHubOptions = {}): Hub {
  const authenticate = options.authenticate ?? masterAuthenticator(ctx.config.masterToken);
  const streamHub = new StreamHub({
    replayCapacity: ctx.config.sse.replayCapacity,
    subscriberQueueLimit: ctx.config.sse.queueLimit,
  });
  const waiters = new Waiters();

  const unsubscribe = ctx.queue.bus.subscribe((raw) => {
    // Events come from our own processes; a shape check on `type` keeps a stray publisher on the
    // channel from reaching subscribers, without paying a full schema parse per event.
    const event = raw as MeshEvent;
    if (typeof event !== "object" || event === null || !KNOWN_EVENTS.has(event.type)) return;
    streamHub.ingest(event);
    if (event.type === "task_assigned") waiters.wakeOne(event.data.agent_id);
  });

  const app: HubApp = new Hono<HubEnv>();
  app.use("*", requestId({ headerName: "X-Request-Id", limitLength: 64 }));
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: { defaultSrc: ["'self'"], frameAncestors: ["'none'"], objectSrc: ["'none'"] },
      strictTransportSecurity: "max-age=31536000; includeSubDomains",
      xFrameOptions: "DENY",
      xContentTypeOptions: "nosniff",
      referrerPolicy: "strict-origin-when-cross-origin",
      permissionsPolicy: { camera: [], microphone: [], geolocation: [] },
    }),
  );
  app.onError((err, c) => errorResponse(err, c, ctx.logger));
  app.notFound((c) =>
    errorResponse(new NotFoundError("route", `${c.req.method} ${c.req.path}`), c, ctx.logger),
  );

  const deps: RouteDeps = { ctx, authenticate, streamHub, waiters };
  registerHealthRoutes(app, deps);
  registerWorkerRoutes(app, deps);
  registerAgentRoutes(app, deps);
  registerTaskRoutes(app, deps);
  registerProvenanceRoutes(app, deps);
  registerStreamRoutes(app, deps);

  return {
    app,
    ctx,
    streamHub,
    waiters,
    close() {
      unsubscribe();
      waiters.wakeAll();
      streamHub.closeAll();
    },
  };
}
