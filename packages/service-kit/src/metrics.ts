import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { ROUTE_DESCRIPTOR } from "./route";

export { Counter, Gauge, Histogram, Registry };

/** What a Prometheus scrape of `/metrics` is answered with (text exposition format 0.0.4). */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/**
 * Latency buckets in seconds: 1 ms … 30 s. HTTP answers, queue jobs, dispatch and memory recall
 * all fall in this range; a long-poll (up to 30 s) lands in the last buckets, not in `+Inf`.
 */
export const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * A metrics registry of its own (never prom-client's global one, so two hubs in one test process,
 * or hub + dispatcher + memory in the all-in-one mesh, never collide), with the process metrics
 * (CPU, RSS, heap, event-loop lag, GC, handles) unless `processMetrics` is false — in one process
 * only one registry should carry them.
 */
export function createMetricsRegistry(options: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  return registry;
}

/** The metric (by name) in `registry`, created by `create` on first use: one definition per registry. */
export function metricOnce<T>(registry: Registry, name: string, create: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? create();
}

/**
 * HTTP request counts and latency by route and status, as Hono middleware (register it first).
 * `route` is the route's descriptor id (`tasks.create`, from the marker `registerRoute` puts on
 * each final handler), so the label set is bounded by the route table; anything else (404s,
 * unmatched paths, a scanner's probes) is `other` — a raw path label would let any client grow the
 * series without bound.
 */
export function httpMetrics(registry: Registry): MiddlewareHandler {
  const requests = metricOnce(
    registry,
    "m3shd_http_requests_total",
    () =>
      new Counter({
        name: "m3shd_http_requests_total",
        help: "HTTP requests answered, by method, route (descriptor id) and status",
        labelNames: ["method", "route", "status"] as const,
        registers: [registry],
      }),
  );
  const duration = metricOnce(
    registry,
    "m3shd_http_request_duration_seconds",
    () =>
      new Histogram({
        name: "m3shd_http_request_duration_seconds",
        help: "Time to the response head (for SSE: to the stream's start), by method, route and status",
        labelNames: ["method", "route", "status"] as const,
        buckets: LATENCY_BUCKETS,
        registers: [registry],
      }),
  );
  return async (c, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const labels = { method: c.req.method, route: routeLabel(c), status: String(c.res.status) };
      requests.inc(labels);
      duration.observe(labels, (performance.now() - started) / 1000);
    }
  };
}

function routeLabel(c: Parameters<MiddlewareHandler>[0]): string {
  for (const route of matchedRoutes(c)) {
    const id = (route.handler as unknown as Record<symbol, string | undefined>)[ROUTE_DESCRIPTOR];
    if (id !== undefined) return id;
  }
  return "other";
}

/** A `/metrics` (and optional `/health`) listener on a bind address of its own. */
export interface MetricsServer {
  /** The port it listens on (the chosen one when asked for port 0). */
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` from `registry` — and `GET /health` when `health` is given (200 when it
 * answers ok, else 503) — on `host:port`, apart from the service's API. Used by the dispatcher
 * (which has no API) and the memory service (whose API port is gated by the hub's service token,
 * a credential a Prometheus server must not hold). Bind it to an address only the scraper reaches.
 */
export async function serveMetrics(options: {
  registry: Registry;
  host: string;
  port: number;
  health?: () => Promise<{ ok: boolean; body: unknown }>;
  onError?: (err: unknown) => void;
}): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method === "GET" && path === "/metrics") {
        const text = await options.registry.metrics();
        res.writeHead(200, { "content-type": PROMETHEUS_CONTENT_TYPE });
        res.end(text);
        return;
      }
      if (req.method === "GET" && path === "/health" && options.health) {
        const { ok, body } = await options.health();
        res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
        return;
      }
      res.writeHead(404, { "content-type": "application/json" });
      const known = options.health ? "GET /metrics and GET /health" : "GET /metrics";
      res.end(JSON.stringify({ error: { code: "not_found", message: `${known} only` } }));
    })().catch((err: unknown) => {
      options.onError?.(err);
      res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The slice of a queue runtime the queue metrics read (structural: no dependency on `@m3shd/queue`). */
export interface ObservableQueue {
  driver: { pendingCount(name: string): Promise<number> };
  jobs: { observe(listener: (observation: JobObservation) => void): () => void };
}

/** One handled job, as the queue's `Jobs` reports it. */
export interface JobObservation {
  name: string;
  /** Enqueue → start of this delivery, in ms (null when the driver does not know it). */
  waitMs: number | null;
  /** Handler run time in ms. */
  runMs: number;
  outcome: "ok" | "error";
}

/**
 * Queue depths (`m3shd_queue_pending_jobs`, read from the queue at scrape time) and, for the jobs
 * this process consumes, wait and run latency by queue and outcome. Returns a function that stops
 * observing.
 */
export function registerQueueMetrics(
  registry: Registry,
  queue: ObservableQueue,
  queueNames: readonly string[],
): () => void {
  new Gauge({
    name: "m3shd_queue_pending_jobs",
    help: "Jobs waiting or delayed, by queue (read from the queue at scrape time)",
    labelNames: ["queue"] as const,
    registers: [registry],
    async collect() {
      const counts = await Promise.all(
        queueNames.map((name) => queue.driver.pendingCount(name).catch(() => NaN)),
      );
      for (const [i, name] of queueNames.entries()) this.set({ queue: name }, counts[i] ?? NaN);
    },
  });
  const wait = new Histogram({
    name: "m3shd_queue_job_wait_seconds",
    help: "Enqueue to start of a delivery, by queue (jobs consumed by this process)",
    labelNames: ["queue"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const run = new Histogram({
    name: "m3shd_queue_job_duration_seconds",
    help: "Job handler run time, by queue and outcome (jobs consumed by this process)",
    labelNames: ["queue", "outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  return queue.jobs.observe((o) => {
    if (o.waitMs !== null) wait.observe({ queue: o.name }, Math.max(0, o.waitMs) / 1000);
    run.observe({ queue: o.name, outcome: o.outcome }, o.runMs / 1000);
  });
}
