import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "@m3shd/db";
import { createDispatcher, DEFAULT_DISPATCHER_CONFIG } from "@m3shd/dispatcher";
import { createHub, DEFAULT_HUB_CONFIG, serveHub } from "@m3shd/hub";
import { createQueueRuntime } from "@m3shd/queue";
import { Redis } from "ioredis";
import { pino } from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { Api, dropPrefix, FAST_DISPATCHER, MASTER, REDIS_URL, sse, testMesh, until } from "./helpers";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** A private redis-server on its own port, so FLUSHALL hurts no other test. */
async function privateRedis(): Promise<{ url: string; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  onTestFinished(() => {
    proc.kill("SIGKILL");
  });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 1 });
  probe.on("error", () => {}); // refused until the server is up
  await until(async () => (await probe.ping().catch(() => "")) === "PONG", 10_000, "private redis");
  probe.disconnect();
  return { url, proc };
}

describe("resilience", () => {
  it("loses no task when Redis is flushed mid-run", async () => {
    const redis = await privateRedis();
    const mesh = await testMesh("redis", { redisUrl: redis.url });
    const { api } = mesh;
    const ids: string[] = [];
    // No agent yet: tasks are queued in SQLite and have dispatch jobs in Redis.
    for (let i = 0; i < 20; i++) ids.push((await api.createTask({ prompt: `job ${i}` })).id);
    const admin = new Redis(redis.url);
    expect(await admin.flushall()).toBe("OK");
    expect(await admin.dbsize()).toBe(0);
    admin.disconnect();
    // The hub's in-flight Redis state is gone; the database still says queued and the
    // reconciler puts the work back. One worker drains everything.
    await api.register("survivor", ["echo"], 4);
    const done = new Set<string>();
    await until(
      async () => {
        const task = await api.next("survivor", 1);
        if (task) {
          expect((await api.complete("survivor", task.id, "ok")).status).toBe(200);
          done.add(task.id);
        }
        return done.size === ids.length;
      },
      30_000,
      "all 20 tasks after FLUSHALL",
    );
    for (const id of ids) expect((await api.task(id)).status).toBe("done");
  });

  it("runs hub and dispatcher as separate runtimes sharing Redis and the database file", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "m3shd-split-"));
    const prefix = `m3shd-test-split-${Date.now()}`;
    const dbPath = join(dataDir, "m3shd.db");
    const logger = pino({ level: "silent" });
    const hubDb = openDatabase({ path: dbPath });
    const dispatcherDb = openDatabase({ path: dbPath });
    const hubQueue = await createQueueRuntime({ redisUrl: REDIS_URL, prefix });
    const dispatcherQueue = await createQueueRuntime({ redisUrl: REDIS_URL, prefix });
    const hub = createHub({
      database: hubDb,
      queue: hubQueue,
      logger,
      now: Date.now,
      startedAt: Date.now(),
      config: { ...DEFAULT_HUB_CONFIG, masterToken: MASTER, provenanceKey: Buffer.alloc(32, 7) },
    });
    const served = await serveHub(hub, { host: "127.0.0.1", port: 0 });
    const dispatcher = createDispatcher({
      database: dispatcherDb,
      queue: dispatcherQueue,
      logger,
      now: Date.now,
      config: { ...DEFAULT_DISPATCHER_CONFIG, ...FAST_DISPATCHER },
    });
    await dispatcher.start();
    onTestFinished(async () => {
      await served.close();
      await dispatcher.stop();
      await hubQueue.close();
      await dispatcherQueue.close();
      hubDb.close();
      dispatcherDb.close();
      await dropPrefix(REDIS_URL, prefix);
      rmSync(dataDir, { recursive: true, force: true });
    });
    const api = new Api(served.url, MASTER);
    const stream = await sse(served.url, MASTER);
    await api.register("split-worker", ["echo"], 1);
    const created = await api.createTask({});
    const task = await api.next("split-worker", 5);
    expect(task?.id).toBe(created.id);
    // task_assigned was published by the dispatcher's runtime and reached the hub's SSE subscriber.
    await until(
      () => stream.events.find((e) => e.type === "task_assigned"),
      5000,
      "task_assigned over Redis",
    );
    expect(dispatcher.stats().assigned).toBe(1);
  });
});

describe.each(["embedded", "redis"] as const)("SSE limits (%s)", (mode) => {
  it("drops a subscriber that stops reading, ending its stream with subscriber_dropped", async () => {
    const mesh = await testMesh(mode, {
      hub: { sse: { replayCapacity: 100, queueLimit: 50, keepaliveMs: 30_000 } },
      // The flooding agent sends chunks, not heartbeats: on a loaded machine the flood outlasts the
      // fast offline timeout, which would take its task away mid-test.
      dispatcher: { offlineAfterMs: 120_000 },
    });
    // A raw socket that stops reading: kernel buffers fill, writes block, the queue overflows.
    const { connect } = await import("node:net");
    const url = new URL(mesh.url);
    const sock = connect({ host: url.hostname, port: Number(url.port) });
    await new Promise<void>((r) => sock.once("connect", () => r()));
    sock.write(`GET /api/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${MASTER}\r\n\r\n`);
    sock.pause();
    onTestFinished(() => {
      sock.destroy();
    });
    await until(() => mesh.hub.streamHub.stats().subscribers === 1, 5000, "subscriber");
    const big = "x".repeat(60_000);
    await mesh.api.register("flood", ["echo"], 1);
    const created = await mesh.api.createTask({});
    expect((await mesh.api.next("flood", 5))?.id).toBe(created.id);
    // Events reach the hub's subscribers through the bus (Redis pub/sub in one mode), so the drop
    // can trail the requests: keep sending until it happens, bounded in count and time. Loopback
    // socket buffers absorb several MB first, so on a loaded machine this takes a while.
    const deadline = Date.now() + 45_000;
    for (
      let sent = 0;
      mesh.hub.streamHub.stats().dropped === 0 && sent < 3000 && Date.now() < deadline;
      sent++
    ) {
      await mesh.api.call(
        "POST",
        `/api/tasks/${created.id}/stream`,
        { content: big, attempt: 1 },
        { "x-m3shd-agent": "flood" },
      );
    }
    await until(() => mesh.hub.streamHub.stats().dropped > 0, 10_000, "slow subscriber dropped");
    // Dropped at once: it left the hub, so it holds no queue and receives nothing more.
    expect(mesh.hub.streamHub.stats()).toMatchObject({ subscribers: 0, dropped: 1 });

    // The client reads again: it gets what was in flight, then the final event, then the end of
    // the chunked response (the zero-length chunk).
    const chunks: Buffer[] = [];
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.resume();
    const text = await until(
      () => {
        const all = Buffer.concat(chunks).toString("utf8");
        return all.endsWith("\r\n0\r\n\r\n") ? all : "";
      },
      10_000,
      "end of the SSE response",
    );
    const lastEvent = [...text.matchAll(/event: (\w+)/g)].map((m) => m[1]).at(-1);
    expect(lastEvent).toBe("subscriber_dropped");
    expect(text).toContain('"queue_limit":50');

    // A subscriber that reads keeps getting every event.
    const reader = await sse(mesh.url, mesh.masterToken);
    await mesh.api.complete("flood", created.id, "done");
    await until(() => reader.events.some((e) => e.type === "task_completed"), 5000, "reader sees completion");
  }, 90_000);

  it("sends keepalive comments on an idle stream", async () => {
    const mesh = await testMesh(mode, {
      hub: { sse: { replayCapacity: 100, queueLimit: 500, keepaliveMs: 100 } },
    });
    const stream = await sse(mesh.url, mesh.masterToken);
    await until(() => stream.frames.filter((f) => f.comment === "keepalive").length >= 2, 5000, "keepalives");
  });
});
