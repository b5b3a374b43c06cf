/**
 * `pnpm bench [--only <area>]`: measures the mesh on this machine and ends with ONE line holding a
 * flat JSON object of numbers (progress goes to stderr). Areas: dispatch, sse, dag, memory, dashboard, mcp, imessage,
 * contribution.
 * The hub + dispatcher run in this process (the embedded mesh, with or without Redis); the
 * simulated workers run in a child process, talking real HTTP.
 */
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { pino } from "pino";
import { type Mesh, startMesh } from "../src/mesh";

const here = dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({
  options: { only: { type: "string" }, quick: { type: "boolean", default: false } },
});
const AREAS = ["dispatch", "sse", "dag", "memory", "dashboard", "mcp", "imessage", "contribution"] as const;
type Area = (typeof AREAS)[number];
const only = values.only as Area | undefined;
if (only && !AREAS.includes(only)) {
  process.stderr.write(`unknown area ${only}; one of ${AREAS.join(", ")}\n`);
  process.exit(2);
}
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const MASTER = `bench-${randomUUID()}`;
const results: Record<string, number> = {};
let peakRss = 0;
const rssTimer = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
}, 50);
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

function runLoad(job: Record<string, unknown>): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        ...(process.env.M3SHD_BENCH_PROF_CHILD ? ["--cpu-prof", "--cpu-prof-dir=/tmp/prof-child"] : []),
        "--conditions=@m3shd/source",
        "--import",
        "tsx",
        join(here, "load.ts"),
        JSON.stringify(job),
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`load generator exited ${code}`));
      resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "{}"));
    });
  });
}

async function withMesh<T>(mode: "embedded" | "redis", fn: (mesh: Mesh) => Promise<T>): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), "m3shd-bench-"));
  const prefix = `m3shd-bench-${randomUUID()}`;
  const mesh = await startMesh({
    dataDir,
    port: 0,
    redisUrl: mode === "redis" ? REDIS_URL : undefined,
    redisPrefix: prefix,
    masterToken: MASTER,
    logger: pino({ level: "warn" }),
  });
  try {
    return await fn(mesh);
  } finally {
    await mesh.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (mode === "redis") {
      const redis = new Redis(REDIS_URL);
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
        cursor = next;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== "0");
      redis.disconnect();
    }
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** created→assigned and assigned→started latencies of the bench tasks, from the database (ms). */
function latencies(mesh: Mesh) {
  const rows = mesh.hub.ctx.database.sqlite
    .prepare(
      "SELECT created_at, assigned_at, started_at FROM tasks WHERE assigned_at IS NOT NULL AND started_at IS NOT NULL",
    )
    .all() as { created_at: number; assigned_at: number; started_at: number }[];
  const assign = rows.map((r) => r.assigned_at - r.created_at).sort((a, b) => a - b);
  const pickup = rows.map((r) => r.started_at - r.assigned_at).sort((a, b) => a - b);
  return { assign, pickup };
}

async function benchDispatch() {
  const tasks = values.quick ? 1000 : 6000;
  for (const mode of ["embedded", "redis"] as const) {
    await withMesh(mode, async (mesh) => {
      log(`dispatch ${mode}: ${tasks} tasks through real HTTP…`);
      const r = await runLoad({
        kind: "dispatch",
        url: mesh.url,
        token: MASTER,
        agents: 4,
        slots: 16,
        tasks,
        creators: 32,
      });
      results[`dispatch.${mode}.tasks_per_s`] = Math.round(r.tasks_per_s ?? 0);
      const { assign } = latencies(mesh);
      results[`dispatch.${mode}.assign_p50_ms`] = percentile(assign, 50);
      results[`dispatch.${mode}.assign_p99_ms`] = percentile(assign, 99);
      log(`dispatch ${mode}: ${results[`dispatch.${mode}.tasks_per_s`]} tasks/s`);
    });
    // Pickup latency below saturation: one task every 10 ms to idle, parked workers.
    await withMesh(mode, async (mesh) => {
      const n = values.quick ? 100 : 300;
      log(`pickup ${mode}: ${n} tasks at 100/s…`);
      await runLoad({
        kind: "dispatch",
        url: mesh.url,
        token: MASTER,
        agents: 2,
        slots: 4,
        tasks: n,
        creators: 1,
        intervalMs: 10,
      });
      const { pickup, assign } = latencies(mesh);
      results[`dispatch.${mode}.pickup_p50_ms`] = percentile(pickup, 50);
      results[`dispatch.${mode}.pickup_p99_ms`] = percentile(pickup, 99);
      results[`dispatch.${mode}.idle_assign_p99_ms`] = percentile(assign, 99);
    });
  }
}

async function benchSse() {
  await withMesh("redis", async (mesh) => {
    log("sse: one event to 500 subscribers…");
    const r = await runLoad({ kind: "fanout", url: mesh.url, token: MASTER, subscribers: 500, rounds: 20 });
    results["sse.fanout_500_ms"] = Math.round((r.fanout_ms_p50 ?? 0) * 10) / 10;
    results["sse.fanout_500_max_ms"] = Math.round((r.fanout_ms_max ?? 0) * 10) / 10;
  });
}

async function benchDag() {
  const { benchDag: measure } = await import("./dag");
  Object.assign(results, await measure());
}

/** The MCP server's benchmark (apps/mcp/bench): `mcp.dispatch_to_done_ms` through stdio. */
async function benchMcp() {
  await benchChild(join(here, "../../mcp/bench/dispatch-bench.ts"));
}

/** A package's own benchmark script, run as a child; the numbers of its last JSON line merge in. */
async function benchChild(script: string) {
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ["--conditions=@m3shd/source", "--import", "tsx", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let text = "";
    child.stdout.on("data", (d: Buffer) => {
      text += d.toString();
    });
    child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`${script} exited ${code}`))));
  });
  const measured = JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as Record<string, number>;
  for (const [key, value] of Object.entries(measured)) if (typeof value === "number") results[key] = value;
}

async function benchMemory() {
  log("memory: insert rate and search latency at 1k/10k/100k entries (about a minute)…");
  await benchChild(join(here, "../../memory/bench/memory-bench.ts"));
}

/** `dashboard.first_page_ms`: the tasks view's first page in Chromium with 100k tasks and 500 agents. */
async function benchDashboard() {
  log("dashboard: first tasks page in Chromium, 100,000 tasks and 500 agents (about a minute)…");
  await benchChild(join(here, "../../dashboard/bench/first-page.ts"));
}

/**
 * The iMessage bridge's inbound latency (apps/imessage-bridge/bench): a row inserted into a live
 * chat.db → the task created on a real hub (`imessage.inbound_to_task_ms`, p50), and → the
 * bridge's own queue (`imessage.inbound_to_queue_p50_ms`), with the production settle and poll.
 */
async function benchImessage() {
  log("imessage: chat.db row insert → task created on the hub (production settle)…");
  await benchChild(join(here, "../../imessage-bridge/bench/inbound-bench.ts"));
}

/** `validate.recompute_per_s` and `ledger.append_per_s` (bench/contribution.ts). */
async function benchContributionArea() {
  const { benchContribution } = await import("./contribution");
  Object.assign(results, await benchContribution(values.quick));
}

const areas: Record<Area, () => Promise<void>> = {
  dispatch: benchDispatch,
  sse: benchSse,
  dag: benchDag,
  memory: benchMemory,
  dashboard: benchDashboard,
  mcp: benchMcp,
  imessage: benchImessage,
  contribution: benchContributionArea,
};
for (const area of AREAS) {
  if (only && only !== area) continue;
  await areas[area]();
}
clearInterval(rssTimer);
results["hub.rss_mb"] = Math.round(peakRss / 1024 / 1024);
process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
