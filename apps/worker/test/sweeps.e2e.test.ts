import { HealthResponseSchema, SWEEP_KINDS } from "@m3shd/protocol";
import { type FakeProviderServer, startFakeProviderServer } from "@m3shd/providers/fake-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateRedis, redisCall, spawnWorker, testMesh, until, WORKER_ENV, workerArgs } from "./helpers";

let fake: FakeProviderServer;
beforeAll(async () => {
  // Every request hangs after one chunk: the task stays `running` until someone takes it back.
  fake = await startFakeProviderServer({ defaultReply: () => ({ kind: "hang", afterChunks: 1 }) });
});
afterAll(async () => {
  await fake.close();
});

async function health(url: string) {
  const res = await fetch(`${url}/api/health`);
  return { status: res.status, body: HealthResponseSchema.parse(await res.json()) };
}

describe("dispatcher sweeps survive a Redis FLUSHALL", () => {
  it("a worker killed after the flush has its task requeued by the offline sweep, with no registration in between", async () => {
    const redis = await privateRedis();
    const t = await testMesh("redis", {
      redisUrl: redis.url,
      dispatcher: {
        offlineAfterMs: 1500,
        sweepEveryMs: {
          heartbeats: 250,
          zombies: 500,
          deadlines: 500,
          reconcile: 500,
          approvals: 500,
          pickups: 500,
        },
      },
    });
    const worker = spawnWorker(
      workerArgs(t, "w-flushed", [
        "--capabilities",
        "research",
        "--provider",
        "anthropic",
        "--model",
        "claude-hang",
        "--base-url",
        fake.url,
      ]),
      { ...WORKER_ENV, ANTHROPIC_API_KEY: "sk-ant-e2e" },
    );
    await worker.waitForLog("registered with the hub");
    const task = await t.api.createTask({ prompt: "hold this", required_capability: "research" });
    await t.api.waitForTask(task.id, "running");

    // Every sweep has run and health says so.
    const before = await until(async () => {
      const h = await health(t.url);
      return h.body.sweepers.length === SWEEP_KINDS.length &&
        h.body.sweepers.every((s) => s.last_run_at !== null)
        ? h
        : null;
    });
    expect(before.status).toBe(200);
    expect(before.body.status).toBe("ok");

    // Redis loses everything (BullMQ job schedulers, liveness, pub/sub bookkeeping) ...
    expect(await redisCall(redis.url, ["FLUSHALL"])).toBe("OK");
    // No DBSIZE check: the live hub and worker may write a liveness key right after the flush.
    const flushedAt = Date.now();
    // ... and then the worker dies without a word.
    worker.child.kill("SIGKILL");
    await worker.exited;

    // Nobody registers again; only the sweeps can notice. The heartbeat sweep takes the agent
    // offline and requeues its task.
    const requeued = await t.api.waitForTask(task.id, "queued", 20_000);
    expect(requeued.assigned_to).toBeNull();
    expect((await t.api.agent("w-flushed"))?.status).toBe("offline");

    // The sweeps kept running after the flush, and health reports each one's last run.
    const after = await until(async () => {
      const h = await health(t.url);
      return h.body.sweepers.every((s) => (s.last_run_at ?? 0) > flushedAt) ? h : null;
    });
    expect(after.status).toBe(200);
    expect(after.body.sweepers.map((s) => s.kind).sort()).toEqual([...SWEEP_KINDS].sort());
    expect(after.body.sweepers.every((s) => !s.overdue)).toBe(true);
  }, 60_000);

  it("health turns degraded when the sweeps stop (dispatcher gone)", async () => {
    const t = await testMesh("embedded", {
      dispatcher: {
        sweepEveryMs: {
          heartbeats: 200,
          zombies: 200,
          deadlines: 200,
          reconcile: 200,
          approvals: 200,
          pickups: 200,
        },
      },
    });
    await until(async () => (await health(t.url)).body.sweepers.length === SWEEP_KINDS.length);
    expect((await health(t.url)).status).toBe(200);
    // Stop only the dispatcher: the hub keeps serving and reads the sweeps' records from SQLite.
    await t.mesh.dispatcher.stop();
    const degraded = await until(
      async () => {
        const h = await health(t.url);
        // Sweeps that were mid-run when the dispatcher stopped finish a little later, so they turn
        // overdue a little later: wait for all of them.
        return h.status === 503 && h.body.sweepers.every((s) => s.overdue) ? h : null;
      },
      20_000,
      "overdue sweeps",
    );
    expect(degraded.body.status).toBe("degraded");
    expect(degraded.body.sweepers.filter((s) => !s.overdue)).toEqual([]);
    expect(t.mesh.dispatcher.health().status).toBe("degraded");
  }, 30_000);
});
