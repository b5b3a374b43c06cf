import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { describe, expect, it, onTestFinished } from "vitest";
import { INFRA, loadCompose } from "./lib/compose";
import { parseMetrics, value } from "./lib/metrics";
import { planTopology, runCommand, startTopology } from "./lib/topology";

/**
 * The Done-when of issue 21 without a Docker daemon: every service of infra/compose.yml started
 * as a plain local process with its command and environment (lib/topology.ts says exactly what is
 * translated), a task run through that topology to done by a jobs worker, every health endpoint
 * answering, and /metrics scraped on the hub, the dispatcher and the memory service with values
 * that add up. Real processes, the machine's Redis (unique prefix), real SQLite files.
 */

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const TASKS = 6;

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(150);
  }
}

async function dropPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

describe("infra/compose.yml as local processes", () => {
  it("starts every service, runs tasks to done through a jobs worker, and every health and metrics endpoint answers", async () => {
    const started = Date.now();
    const root = mkdtempSync(join(tmpdir(), "m3shd-topology-"));
    const secretsDir = join(root, "secrets");
    const prefix = `m3shd-ops-${randomUUID()}`;
    onTestFinished(async () => {
      await dropPrefix(prefix);
      rmSync(root, { recursive: true, force: true });
    });
    // The secrets the compose file mounts, made by the operator's own script.
    const init = await runCommand(["sh", join(INFRA, "init-secrets.sh"), secretsDir]);
    expect(init.code, init.output).toBe(0);

    const { compose } = loadCompose();
    const plans = await planTopology({ compose, root, secretsDir, redisUrl: REDIS_URL, redisPrefix: prefix });
    expect(plans.map((p) => p.name).sort()).toEqual(Object.keys(compose.services).sort());
    const ping = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    onTestFinished(() => ping.disconnect());
    const topology = await startTopology(plans, {
      redisHealthy: async () => (await ping.ping().catch(() => "down")) === "PONG",
    });
    let stopped: Map<string, number | null> | null = null;
    onTestFinished(async () => {
      if (!stopped) await topology.stop();
    });
    const plan = (name: string) => {
      const p = topology.plans.get(name);
      if (!p) throw new Error(name);
      return p;
    };
    const port = (name: string, container: number) => plan(name).ports.get(container) ?? 0;
    const hub = `http://127.0.0.1:${port("hub", 7700)}`;
    const master = readFileSync(join(secretsDir, "master_token"), "utf8").trim();
    const auth = { authorization: `Bearer ${master}`, "content-type": "application/json" };

    // The one-shot minted a worker token per worker into the shared volume, and finished.
    expect(topology.completed.get("worker-tokens")).toBe(0);
    for (const id of ["jobs-1", "jobs-2"]) {
      expect(readFileSync(join(root, "volumes", "worker-tokens", id), "utf8")).toMatch(/\S{20,}/);
    }

    // Every long-running service is healthy by its own healthcheck (the workers once they have
    // heard from the hub; backup once its first snapshot is written).
    for (const p of plans.filter((s) => s.app !== null && !s.oneShot)) {
      await until(`${p.name} healthy\n${topology.logTail(p.name)}`, async () =>
        (await topology.health(p.name)).code === 0 ? true : undefined,
      );
    }

    // A task through the whole topology: the hub writes it, the dispatcher assigns it (Redis),
    // a worker runs `echo`, the hub signs it and enqueues memory.extract, which the memory service
    // consumes. The first one asks to remember something.
    const create = async (prompt: string) => {
      const res = await fetch(`${hub}/api/tasks`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ title: "ops", prompt, required_capability: "echo" }),
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { task: { id: string } }).task.id;
    };
    const ids = [await create("[REMEMBER] deploy target: blue [/REMEMBER]")];
    for (let i = 1; i < TASKS; i++) ids.push(await create(`echo ${i}`));
    const done: { id: string; assigned_to: string; output: string }[] = [];
    for (const id of ids) {
      done.push(
        await until(`task ${id} done`, async () => {
          const res = await fetch(`${hub}/api/tasks/${id}`, { headers: auth });
          const { task } = (await res.json()) as {
            task: { id: string; status: string; assigned_to: string; output: string };
          };
          return task.status === "done" ? task : undefined;
        }),
      );
    }
    expect(done[1]?.output).toContain("echo 1");
    expect(new Set(done.map((t) => t.assigned_to)).size).toBeGreaterThanOrEqual(1);
    for (const t of done) expect(["jobs-1", "jobs-2"]).toContain(t.assigned_to);

    // The memory it asked for, extracted by the memory service and listed through the hub.
    const agent = done[0]?.assigned_to ?? "";
    await until("the memory to be extracted", async () => {
      const res = await fetch(`${hub}/api/agents/${agent}/memory`, { headers: auth });
      const body = (await res.json()) as { entries?: { key: string; value: string }[] };
      return body.entries?.some((e) => e.key === "deploy target" && e.value === "blue") ? true : undefined;
    });

    // Metrics. The hub's behind a key holding only admin:analytics, as a scraper's would be.
    const key = await fetch(`${hub}/api/keys`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ name: "prometheus", permissions: ["admin:analytics"] }),
    });
    expect(key.status).toBe(201);
    const scraper = ((await key.json()) as { key: string }).key;
    expect((await fetch(`${hub}/metrics`)).status).toBe(401);
    const hubRes = await fetch(`${hub}/metrics`, { headers: { authorization: `Bearer ${scraper}` } });
    expect(hubRes.status).toBe(200);
    expect(hubRes.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const hubM = parseMetrics(await hubRes.text());
    expect(value(hubM, "m3shd_tasks", { status: "done" })).toBe(TASKS);
    expect(value(hubM, "m3shd_tasks", { status: "queued" })).toBe(0);
    expect(value(hubM, "m3shd_events_total", { type: "task_completed" })).toBe(TASKS);
    expect(value(hubM, "m3shd_events_total", { type: "task_created" })).toBe(TASKS);
    expect(value(hubM, "m3shd_http_requests_total", { route: "tasks.create", status: "201" })).toBe(TASKS);
    expect(value(hubM, "m3shd_http_request_duration_seconds_count", { route: "tasks.complete" })).toBe(TASKS);
    expect(value(hubM, "m3shd_agents")).toBe(2);
    expect(value(hubM, "m3shd_agent_breakers", { state: "closed" })).toBe(2);
    expect(value(hubM, "m3shd_sse_subscribers")).toBe(0);
    expect(value(hubM, "m3shd_sse_drops_total")).toBe(0);
    expect(value(hubM, "m3shd_queue_pending_jobs", { queue: "dispatch.assign" })).toBe(0);
    // One recall per pickup, answered by the memory service over HTTP.
    expect(value(hubM, "m3shd_memory_recall_duration_seconds_count", { outcome: "ok" })).toBe(TASKS);
    expect(value(hubM, "process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024);

    const dispatcherRes = await fetch(`http://127.0.0.1:${port("dispatcher", 7701)}/metrics`);
    expect(dispatcherRes.status).toBe(200);
    const dispatcherM = parseMetrics(await dispatcherRes.text());
    expect(value(dispatcherM, "m3shd_dispatch_assignments_total")).toBe(TASKS);
    expect(value(dispatcherM, "m3shd_dispatch_latency_seconds_count")).toBe(TASKS);
    const latency = value(dispatcherM, "m3shd_dispatch_latency_seconds_sum") ?? -1;
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(latency / TASKS).toBeLessThan(10);
    expect(value(dispatcherM, "m3shd_dispatch_pass_duration_seconds_count")).toBeGreaterThanOrEqual(1);
    expect(
      value(dispatcherM, "m3shd_queue_job_duration_seconds_count", { queue: "dispatch.assign" }),
    ).toBeGreaterThanOrEqual(1);
    expect(value(dispatcherM, "process_cpu_seconds_total")).toBeGreaterThan(0);

    const memoryRes = await fetch(`http://127.0.0.1:${port("memory", 7711)}/metrics`);
    expect(memoryRes.status).toBe(200);
    const memoryM = parseMetrics(await memoryRes.text());
    expect(value(memoryM, "m3shd_http_requests_total", { route: "memory.recall", status: "200" })).toBe(
      TASKS,
    );
    expect(
      value(memoryM, "m3shd_queue_job_duration_seconds_count", { queue: "memory.extract", outcome: "ok" }),
    ).toBe(TASKS);
    // The memory API port does not serve metrics: that port needs the service token.
    expect((await fetch(`http://127.0.0.1:${port("memory", 7710)}/metrics`)).status).toBe(404);

    // Every series the sample Grafana dashboard queries is one these endpoints really serve.
    const served = new Set([...hubM, ...dispatcherM, ...memoryM].map((m) => m.name));
    const dashboard = readFileSync(join(INFRA, "grafana", "m3shd-dashboard.json"), "utf8");
    const queried = new Set(dashboard.match(/\b(?:m3shd|process|nodejs)_[a-z0-9_]+/g) ?? []);
    expect(queried.size).toBeGreaterThan(10);
    for (const name of queried) expect(served.has(name), `${name} (dashboard) is served`).toBe(true);

    // MCP answers its health probe; the backup scheduler wrote a snapshot.
    expect((await topology.health("mcp")).code).toBe(0);
    expect(existsSync(join(root, "volumes", "backups", "latest.json"))).toBe(true);

    // SIGTERM: every service shuts down cleanly (exit 0), as `docker compose down` asks.
    stopped = await topology.stop();
    const codes = Object.fromEntries(stopped);
    expect(codes).toEqual(Object.fromEntries([...stopped.keys()].map((name) => [name, 0])));
    expect(Object.keys(codes).sort()).toEqual(
      plans
        .filter((p) => p.app !== null && !p.oneShot)
        .map((p) => p.name)
        .sort(),
    );
    expect(Date.now() - started).toBeLessThan(90_000);
  });
});
