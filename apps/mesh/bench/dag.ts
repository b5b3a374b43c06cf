/**
 * DAG release benchmark: one parent with 1,000 waiting children; the time from the parent's
 * completion (the worker's PUT) until every child is assigned to an agent. Hub + dispatcher run
 * in this process (the embedded mesh, then the same with Redis); the requests are real HTTP.
 *
 * What it covers end to end: the completion transaction releasing 1,000 children (each prompt
 * rebuilt with the parent's output), 1,000 `task_requeued` events and dispatch jobs, and the
 * dispatcher's coalesced passes assigning them across 4 agents × 256 slots.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { pino } from "pino";
import { startMesh } from "../src/mesh";

const CHILDREN = 1000;
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

async function call(
  base: string,
  token: string,
  method: string,
  path: string,
  body?: unknown,
  agent?: string,
) {
  const res = await fetch(base + path, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
      ...(agent ? { "x-m3shd-agent": agent } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** One round on a fresh mesh: returns completion → last child assigned, in ms. */
async function releaseRound(mode: "embedded" | "redis"): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), "m3shd-bench-dag-"));
  const prefix = `m3shd-bench-dag-${randomUUID()}`;
  const token = `bench-${randomUUID()}`;
  const mesh = await startMesh({
    dataDir,
    port: 0,
    redisUrl: mode === "redis" ? REDIS_URL : undefined,
    redisPrefix: prefix,
    masterToken: token,
    logger: pino({ level: "warn" }),
  });
  try {
    const api = (method: string, path: string, body?: unknown, agent?: string) =>
      call(mesh.url, token, method, path, body, agent);
    await api("POST", "/api/agents/root-worker/register", { capabilities: ["root"], max_concurrent: 1 });
    for (let i = 0; i < 4; i++) {
      await api("POST", `/api/agents/child-worker-${i}/register`, {
        capabilities: ["child"],
        max_concurrent: 256,
      });
    }
    const parent = await api("POST", "/api/tasks", {
      title: "parent",
      prompt: "produce the seed",
      required_capability: "root",
    });
    const parentId = (parent.body.task as { id: string }).id;
    const children = new Set<string>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < CHILDREN) {
          const i = next++;
          const res = await api("POST", "/api/tasks", {
            title: `child ${i}`,
            prompt: `use the seed (${i})`,
            required_capability: "child",
            depends_on: [parentId],
          });
          if (res.status !== 201) throw new Error(`create child: ${res.status} ${JSON.stringify(res.body)}`);
          children.add((res.body.task as { id: string }).id);
        }
      }),
    );
    const picked = await api("GET", "/api/agents/root-worker/tasks/next?wait=5");
    if ((picked.body.task as { id?: string } | undefined)?.id !== parentId)
      throw new Error("parent not delivered");

    let assigned = 0;
    let finished = 0;
    const allAssigned = new Promise<void>((resolve) => {
      const unsubscribe = mesh.queue.bus.subscribe((raw) => {
        const event = raw as { type?: string; data?: { task_id?: string } };
        if (event.type !== "task_assigned" || !children.has(event.data?.task_id ?? "")) return;
        if (++assigned === CHILDREN) {
          finished = performance.now();
          unsubscribe();
          resolve();
        }
      });
    });
    const started = performance.now();
    const done = await api(
      "PUT",
      `/api/tasks/${parentId}`,
      { status: "done", output: "the seed" },
      "root-worker",
    );
    if (done.status !== 200) throw new Error(`complete parent: ${done.status}`);
    await Promise.race([
      allAssigned,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`only ${assigned} children assigned`)), 60_000),
      ),
    ]);
    const stillWaiting = mesh.hub.ctx.database.sqlite
      .prepare("SELECT count(*) AS n FROM tasks WHERE required_capability = 'child' AND status <> 'assigned'")
      .get() as { n: number };
    if (stillWaiting.n !== 0) throw new Error(`${stillWaiting.n} children not assigned`);
    return finished - started;
  } finally {
    await mesh.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (mode === "redis") {
      const redis = new Redis(REDIS_URL);
      let cursor = "0";
      do {
        const [nextCursor, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
        cursor = nextCursor;
        if (keys.length) await redis.del(...keys);
      } while (cursor !== "0");
      redis.disconnect();
    }
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/**
 * `dag.release_1000_children_ms`: median of 3 rounds in the embedded mode (each on a fresh mesh);
 * `dag.redis.release_1000_children_ms` the same with BullMQ and Redis pub/sub.
 */
export async function benchDag(): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  for (const mode of ["embedded", "redis"] as const) {
    const rounds: number[] = [];
    for (let i = 0; i < 3; i++) {
      rounds.push(await releaseRound(mode));
      log(`dag ${mode}: released and assigned ${CHILDREN} children in ${rounds.at(-1)?.toFixed(1)} ms`);
    }
    const key = mode === "embedded" ? "dag.release_1000_children_ms" : "dag.redis.release_1000_children_ms";
    results[key] = Math.round(median(rounds) * 10) / 10;
  }
  return results;
}
