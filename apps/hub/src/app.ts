import { EVENT_TYPES, M3shdError, type MeshEvent, NotFoundError } from "@m3shd/protocol";
import { httpMetrics } from "@m3shd/service-kit";
import type { MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { HubContext } from "./context";
import { StreamHub } from "./events/stream-hub";
import { Waiters } from "./events/waiters";
import { createHubMetrics, type HubMetrics } from "./metrics";
import { auditRequests } from "./middleware/audit";
import type { Authenticator } from "./middleware/auth";
import { errorResponse } from "./middleware/errors";
import { builtinPlugins } from "./plugins/builtins";
import { loadPluginDirectory } from "./plugins/loader";
import { PluginManager, type PluginModule } from "./plugins/manager";
import { registerAgentRoutes } from "./routes/agents";
import { registerApiKeyRoutes } from "./routes/api-keys";
import { registerAuditRoutes } from "./routes/audit";
import { registerContributionRoutes } from "./routes/contribution";
import { registerDashboardRoutes } from "./routes/dashboard";
import { DOCS_CSP, DOCS_PATH, registerDocsRoutes } from "./routes/docs";
import { registerHealthRoutes } from "./routes/health";
import { registerMeRoutes } from "./routes/me";
import { registerMemoryRoutes } from "./routes/memory";
import { registerPluginRoutes } from "./routes/plugins";
import { registerProvenanceRoutes } from "./routes/provenance";
import { registerSessionRoutes } from "./routes/sessions";
import { registerStreamRoutes } from "./routes/stream";
import { registerTaskRoutes } from "./routes/tasks";
import { registerTokenRoutes } from "./routes/tokens";
import { registerUserRoutes } from "./routes/users";
import { registerWebhookRoutes } from "./routes/webhooks";
import { registerWorkerRoutes } from "./routes/worker";
import { registerWorkflowRoutes } from "./routes/workflows";
import { pruneAuditLog } from "./services/audit";
import { createDefaultAuthenticator } from "./services/auth";
import { createHubLimits, type HubLimits } from "./services/limits";
import { pluginStates } from "./services/plugins";
import { authConfig } from "./services/sessions";
import { ensureSeedAdmin } from "./services/users";
import { startWorkflows } from "./services/workflows";
import type { HubApp, HubEnv, RouteDeps } from "./types";

export interface CreateHubOptions {
  /** Resolves credentials; default: master token → agent token → API key → session cookie. */
  authenticate?: Authenticator;
  /**
   * Plugin modules registered after the built-ins and before the plugins directory's (an embedder's
   * own tools, without files on disk).
   */
  plugins?: readonly PluginModule[];
}

export interface Hub {
  app: HubApp;
  ctx: HubContext;
  streamHub: StreamHub;
  waiters: Waiters;
  /** Rate-limit counters (API key caps, login throttling). */
  limits: HubLimits;
  /** Prometheus metrics (served at `GET /metrics`). */
  metrics: HubMetrics;
  /** Tools, hooks and capability declarations; the directory's plugins are in once `ready` settles. */
  plugins: PluginManager;
  /**
   * Settles when first-run setup is done: the seed admin exists (when `config.dataDir` is set) and
   * the plugins directory was loaded (a plugin that fails is skipped, never a rejection).
   * `seedAdminPasswordFile` is where its generated password was written, if it was created now.
   */
  ready: Promise<{ seedAdminPasswordFile: string | null }>;
  /** Stop listening to the bus and end every open stream and long-poll. */
  close(): void;
}

/** The security headers of every hub response (also sent by the server's parser-error handler). */
export const SECURE_HEADERS_OPTIONS = {
  contentSecurityPolicy: { defaultSrc: ["'self'"], frameAncestors: ["'none'"], objectSrc: ["'none'"] },
  strictTransportSecurity: "max-age=31536000; includeSubDomains",
  xFrameOptions: "DENY",
  xContentTypeOptions: "nosniff",
  referrerPolicy: "strict-origin-when-cross-origin",
  permissionsPolicy: { camera: [], microphone: [], geolocation: [] },
} satisfies Parameters<typeof secureHeaders>[0];

/** `SECURE_HEADERS_OPTIONS`' policy as the header value (for responses that set it by hand). */
const API_CSP = "default-src 'self'; frame-ancestors 'none'; object-src 'none'";

/** A path segment that is `.` or `..`, written plainly or percent-encoded (`%2e`, `%2E.`, `.%2e` …). */
const DOT_SEGMENT = /(?:^|\/)(?:\.|%2e){1,2}(?:\/|$)/i;

/**
 * Refuses dot segments in the raw request path: `/api/agents/%2e%2e/memory/search` means one thing
 * to whoever checks the path as sent and another once it is normalised (by the adapter's URL
 * parsing, the memory client, any proxy). No route ever needs one, so a request that has one is
 * refused at the edge, before routing.
 */
const refuseDotSegments: MiddlewareHandler = async (c, next) => {
  // The raw request target as it came off the socket: by the time the adapter builds
  // `c.req.url`, WHATWG URL parsing has already resolved `%2e%2e` against the path before it.
  const incoming = (c.env as { incoming?: { url?: unknown } } | undefined)?.incoming?.url;
  const target = typeof incoming === "string" ? incoming : new URL(c.req.url).pathname;
  const end = target.search(/[?#]/);
  const path = end < 0 ? target : target.slice(0, end);
  if (DOT_SEGMENT.test(path))
    throw new M3shdError("bad_request", "Dot segments are not allowed in the request path");
  await next();
};

const KNOWN_EVENTS: ReadonlySet<string> = new Set(EVENT_TYPES);

/**
 * Builds the hub: routes, middleware, and the bus subscription that feeds SSE subscribers and
 * wakes long-polls. No `listen`, no env reads — `index.ts` does that; tests call this directly.
 */
export function createHub(ctx: HubContext, options: CreateHubOptions = {}): Hub {
  const limits = createHubLimits(ctx, authConfig(ctx).loginWindowMs);
  const authenticate = options.authenticate ?? createDefaultAuthenticator(ctx, limits);
  const streamHub = new StreamHub({
    replayCapacity: ctx.config.sse.replayCapacity,
    subscriberQueueLimit: ctx.config.sse.queueLimit,
  });
  const waiters = new Waiters();
  const metrics = createHubMetrics(ctx, streamHub, ctx.metrics);
  // Recall latency is measured where the hub waits for it (in-process or over HTTP alike).
  if (ctx.memory) ctx.memory = { ...ctx.memory, client: metrics.timeMemory(ctx.memory.client) };

  const pluginsConfig = ctx.config.plugins;
  const plugins = new PluginManager({
    logger: ctx.logger.child({ component: "plugins" }),
    config: pluginsConfig,
    sensitivePaths: [ctx.config.dataDir, ctx.config.dashboard?.dir],
  });
  const unsubscribe = ctx.queue.bus.subscribe((raw) => {
    // Events come from our own processes; a shape check on `type` keeps a stray publisher on the
    // channel from reaching subscribers, without paying a full schema parse per event.
    const event = raw as MeshEvent;
    if (typeof event !== "object" || event === null || !KNOWN_EVENTS.has(event.type)) return;
    streamHub.ingest(event);
    metrics.event(event.type);
    if (event.type === "task_assigned") waiters.wakeOne(event.data.agent_id);
    // Hooks run later, off this call (which is the publisher's, often a request's).
    plugins.dispatch(event, () => pluginStates(ctx));
  });

  const app: HubApp = new Hono<HubEnv>();
  // First, so every answer is counted — refusals by later middleware included.
  app.use("*", httpMetrics(metrics.registry));
  app.use("*", requestId({ headerName: "X-Request-Id", limitLength: 64 }));
  const { contentSecurityPolicy: _apiCsp, ...headerOptions } = SECURE_HEADERS_OPTIONS;
  const apiHeaders = secureHeaders(SECURE_HEADERS_OPTIONS);
  // Only the docs page (and its assets) gets the looser CSP Swagger UI needs; see routes/docs.ts.
  const docsHeaders = secureHeaders({ ...headerOptions, contentSecurityPolicy: undefined });
  app.use("*", async (c, next) => {
    const path = c.req.path;
    if (path !== DOCS_PATH && !path.startsWith(`${DOCS_PATH}/`)) return apiHeaders(c, next);
    await docsHeaders(c, next);
    // Only what Swagger UI renders gets its looser policy; an error under /docs is an API answer.
    c.header("Content-Security-Policy", c.res.status < 400 ? DOCS_CSP : API_CSP);
  });
  app.use("*", refuseDotSegments);
  app.use("*", auditRequests(ctx));
  app.onError((err, c) => errorResponse(err, c, ctx.logger));
  app.notFound((c) =>
    errorResponse(new NotFoundError("route", `${c.req.method} ${c.req.path}`), c, ctx.logger),
  );

  const deps: RouteDeps = { ctx, authenticate, streamHub, waiters, metrics, plugins };
  registerHealthRoutes(app, deps);
  registerWorkerRoutes(app, deps);
  registerAgentRoutes(app, deps);
  registerTaskRoutes(app, deps);
  registerProvenanceRoutes(app, deps);
  registerContributionRoutes(app, deps);
  registerMemoryRoutes(app, deps);
  registerStreamRoutes(app, deps);
  registerWorkflowRoutes(app, deps);
  startWorkflows(ctx);
  registerTokenRoutes(app, deps);
  registerApiKeyRoutes(app, deps, limits);
  registerUserRoutes(app, deps);
  registerSessionRoutes(app, deps, limits);
  registerMeRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerDocsRoutes(app, deps);
  registerDashboardRoutes(app, deps);
  registerWebhookRoutes(app, deps, limits);
  registerPluginRoutes(app, deps);

  // Audit retention: old rows are pruned on a timer (every hub process may run it; it is idempotent).
  const auditPruner = setInterval(() => {
    try {
      const pruned = pruneAuditLog(ctx);
      if (pruned > 0) ctx.logger.info({ pruned }, "audit log pruned");
    } catch (err) {
      ctx.logger.error({ err }, "audit log prune failed");
    }
  }, ctx.config.auditPruneEveryMs ?? 3_600_000);
  auditPruner.unref();

  // Built-ins, then the embedder's, then the directory's, in that order: a directory plugin cannot
  // take a built-in tool's name. `register` never rejects (a failing plugin is logged and skipped).
  const pluginsLoaded = (async () => {
    for (const module of [...builtinPlugins(ctx, pluginsConfig), ...(options.plugins ?? [])]) {
      await plugins.register("builtin", module);
    }
    if (pluginsConfig?.dir) {
      await loadPluginDirectory(plugins, pluginsConfig.dir, ctx.logger.child({ component: "plugins" }));
    }
  })().catch((err: unknown) => ctx.logger.error({ err }, "plugin loading failed"));
  const dataDir = ctx.config.dataDir;
  const seeded = dataDir
    ? ensureSeedAdmin(ctx, dataDir).then((seed) => ({ seedAdminPasswordFile: seed.passwordFile }))
    : Promise.resolve({ seedAdminPasswordFile: null });
  const ready = Promise.all([seeded, pluginsLoaded]).then(([seed]) => seed);
  // Awaited by whoever starts the hub; this only keeps an unawaited failure from going unseen.
  ready.catch((err: unknown) => ctx.logger.error({ err }, "seed admin setup failed"));

  return {
    app,
    ctx,
    streamHub,
    waiters,
    limits,
    metrics,
    plugins,
    ready,
    close() {
      unsubscribe();
      plugins.close();
      clearInterval(auditPruner);
      waiters.close();
      streamHub.closeAll();
      limits.close();
      metrics.close();
    },
  };
}
