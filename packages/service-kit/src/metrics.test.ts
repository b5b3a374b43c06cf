import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineRoute } from "@m3shd/protocol";
import { Hono } from "hono";
import { describe, expect, it, onTestFinished } from "vitest";
import { z } from "zod";
import {
  createMetricsRegistry,
  httpMetrics,
  type JobObservation,
  PROMETHEUS_CONTENT_TYPE,
  registerQueueMetrics,
  registerRoute,
  secretsFromFiles,
  serveMetrics,
} from "./index";

const pingRoute = defineRoute({
  id: "test.ping",
  method: "GET",
  path: "/ping/:n",
  permission: "public",
  summary: "ping",
  tags: ["test"],
  params: z.object({ n: z.string() }),
  responses: { 200: z.object({ n: z.string() }) },
});

/** One sample's value from the text exposition, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const wanted = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (wanted) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

describe("httpMetrics", () => {
  it("counts requests by descriptor id and status, and never labels a raw path", async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const app = new Hono();
    app.use("*", httpMetrics(registry));
    registerRoute(
      app,
      pingRoute,
      async (_c, next) => next(),
      (_c, { params }) => ({
        status: 200,
        body: { n: params.n },
      }),
    );
    for (const n of ["1", "2", "3"]) expect((await app.request(`/ping/${n}`)).status).toBe(200);
    expect((await app.request("/wp-admin/../etc/passwd")).status).toBe(404);
    const text = await registry.metrics();
    expect(sample(text, "m3shd_http_requests_total", { route: "test.ping", status: "200" })).toBe(3);
    expect(sample(text, "m3shd_http_requests_total", { route: "other", status: "404" })).toBe(1);
    expect(
      sample(text, "m3shd_http_request_duration_seconds_count", { route: "test.ping", status: "200" }),
    ).toBe(3);
    expect(text).not.toContain("passwd");
    expect(text).not.toContain("/ping/");
  });
});

describe("registerQueueMetrics", () => {
  it("reads depths at scrape time and records wait and run time of observed jobs", async () => {
    const registry = createMetricsRegistry({ processMetrics: false });
    const listeners = new Set<(o: JobObservation) => void>();
    const pending: Record<string, number> = { "dispatch.assign": 4, "memory.extract": 0 };
    const stop = registerQueueMetrics(
      registry,
      {
        driver: { pendingCount: async (name) => pending[name] ?? 0 },
        jobs: {
          observe(listener) {
            listeners.add(listener);
            return () => listeners.delete(listener);
          },
        },
      },
      Object.keys(pending),
    );
    for (const l of listeners) l({ name: "dispatch.assign", waitMs: 20, runMs: 5, outcome: "ok" });
    for (const l of listeners) l({ name: "dispatch.assign", waitMs: null, runMs: 7, outcome: "error" });
    const text = await registry.metrics();
    expect(sample(text, "m3shd_queue_pending_jobs", { queue: "dispatch.assign" })).toBe(4);
    expect(sample(text, "m3shd_queue_pending_jobs", { queue: "memory.extract" })).toBe(0);
    expect(sample(text, "m3shd_queue_job_wait_seconds_count", { queue: "dispatch.assign" })).toBe(1);
    expect(
      sample(text, "m3shd_queue_job_duration_seconds_count", { queue: "dispatch.assign", outcome: "error" }),
    ).toBe(1);
    stop();
    expect(listeners.size).toBe(0);
  });
});

describe("serveMetrics", () => {
  it("serves the registry and the health probe on a bind of its own", async () => {
    const registry = createMetricsRegistry();
    let healthy = true;
    const server = await serveMetrics({
      registry,
      host: "127.0.0.1",
      port: 0,
      health: async () => ({ ok: healthy, body: { status: healthy ? "ok" : "degraded" } }),
    });
    onTestFinished(() => server.close());
    const base = `http://127.0.0.1:${server.port}`;
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get("content-type")).toBe(PROMETHEUS_CONTENT_TYPE);
    const text = await metrics.text();
    // Process metrics come with a fresh registry.
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(sample(text, "nodejs_heap_size_used_bytes")).toBeGreaterThan(0);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    healthy = false;
    const down = await fetch(`${base}/health`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: "degraded" });
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});

describe("secretsFromFiles", () => {
  it("reads NAME_FILE into NAME, refuses both, empty and unreadable files without echoing content", () => {
    const dir = mkdtempSync(join(tmpdir(), "m3shd-secret-"));
    const file = join(dir, "token");
    writeFileSync(file, "s3cret-value\nignored second line\n");
    expect(secretsFromFiles({ TOKEN_FILE: file, OTHER: "x" }, ["TOKEN"])).toEqual({
      TOKEN: "s3cret-value",
      TOKEN_FILE: file,
      OTHER: "x",
    });
    expect(secretsFromFiles({ TOKEN: "direct" }, ["TOKEN"]).TOKEN).toBe("direct");
    expect(() => secretsFromFiles({ TOKEN: "a", TOKEN_FILE: file }, ["TOKEN"])).toThrow(
      "Set TOKEN or TOKEN_FILE, not both",
    );
    writeFileSync(join(dir, "empty"), "\n");
    expect(() => secretsFromFiles({ TOKEN_FILE: join(dir, "empty") }, ["TOKEN"])).toThrow("is empty");
    let message = "";
    try {
      secretsFromFiles({ TOKEN_FILE: join(dir, "missing") }, ["TOKEN"]);
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain("ENOENT");
    expect(message).not.toContain("s3cret");
  });
});
