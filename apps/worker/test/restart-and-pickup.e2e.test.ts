import type { MeshEvent } from "@m3shd/protocol";
import { type FakeProviderServer, startFakeProviderServer } from "@m3shd/providers/fake-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MASTER, privateRedis, spawnWorker, testMesh, until, WORKER_ENV, workerArgs } from "./helpers";

/**
 * Issue 12's fault cases with real worker processes and a private redis-server: a worker killed
 * and restarted under the same id, a worker killed in the middle of its long-poll, and a task
 * assigned to an agent that never picks it up. Offline and zombie timeouts are set far beyond
 * what the tests wait, so only the new mechanisms can pass them.
 */
let fake: FakeProviderServer;
beforeAll(async () => {
  // Every request hangs after one chunk: a task stays `running` on whoever claimed it.
  fake = await startFakeProviderServer({ defaultReply: () => ({ kind: "hang", afterChunks: 1 }) });
});
afterAll(async () => {
  await fake.close();
});

const SLOW_SWEEPS = {
  offlineAfterMs: 120_000,
  zombieAfterMs: 600_000,
  pickupTimeoutMs: 1500,
  sweepEveryMs: { heartbeats: 500, zombies: 1000, deadlines: 1000, reconcile: 1000, pickups: 250 },
};
const hanging = ["--capabilities", "research", "--provider", "anthropic", "--model", "claude-hang"];
const ENV = { ...WORKER_ENV, ANTHROPIC_API_KEY: "sk-ant-e2e" };

/** Mesh events, collected from the hub's SSE stream. */
async function collectEvents(url: string): Promise<{ events: MeshEvent[]; close(): void }> {
  const controller = new AbortController();
  const res = await fetch(`${url}/api/stream`, {
    headers: { authorization: `Bearer ${MASTER}` },
    signal: controller.signal,
  });
  const events: MeshEvent[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const part of res.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(part, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const data = buffer
            .slice(0, end)
            .split("\n")
            .filter((l) => l.startsWith("data: "))
            .map((l) => l.slice(6))
            .join("\n");
          if (data) events.push(JSON.parse(data) as MeshEvent);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // aborted at the end of the test
    }
  })();
  return { events, close: () => controller.abort() };
}

describe("faults from outside, with real worker processes", () => {
  it("a worker restarted under the same id gets its predecessor's task back at once, as a new attempt", async () => {
    const redis = await privateRedis();
    const t = await testMesh("redis", { redisUrl: redis.url, dispatcher: SLOW_SWEEPS });
    const stream = await collectEvents(t.url);
    const args = workerArgs(t, "w-phoenix", [...hanging, "--base-url", fake.url]);
    const first = spawnWorker(args, ENV);
    await first.waitForLog("registered with the hub");
    const task = await t.api.createTask({ prompt: "hold this", required_capability: "research" });
    const running = await t.api.waitForTask(task.id, "running");
    expect(running).toMatchObject({ assigned_to: "w-phoenix", attempt: 1, attempts: 1 });

    first.child.kill("SIGKILL");
    await first.exited;
    const restartedAt = Date.now();
    const second = spawnWorker(args, ENV);
    await second.waitForLog("registered with the hub");
    // Requeued on registration and claimed again by the new process: attempt 2, within seconds,
    // though the zombie timeout is 10 minutes and the offline timeout 2.
    const again = await t.api.waitForTask(task.id, (x) => x.status === "running" && x.attempt === 2, 20_000);
    expect(again.assigned_to).toBe("w-phoenix");
    expect(Date.now() - restartedAt).toBeLessThan(15_000);
    const requeued = stream.events.find((e) => e.type === "task_requeued" && e.data.task_id === task.id);
    expect(requeued?.data).toMatchObject({
      reason: "restarted",
      previous_agent_id: "w-phoenix",
      attempts: 1,
    });

    // The dead process's late completion (attempt 1, as the agent) is refused; attempt 2 stands.
    const stale = await fetch(`${t.url}/api/tasks/${task.id}`, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${MASTER}`,
        "content-type": "application/json",
        "x-m3shd-agent": "w-phoenix",
      },
      body: JSON.stringify({ status: "done", output: "from the grave", attempt: 1 }),
    });
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { error: { code: string } }).error.code).toBe("stale_attempt");
    expect(await t.api.task(task.id)).toMatchObject({ status: "running", attempt: 2, output: null });
    stream.close();
  }, 90_000);

  it("a worker killed in the middle of its long-poll is offered no work; a live one gets it", async () => {
    const redis = await privateRedis();
    const t = await testMesh("redis", { redisUrl: redis.url, dispatcher: SLOW_SWEEPS });
    const victim = spawnWorker(workerArgs(t, "w-victim", [...hanging, "--base-url", fake.url]), ENV);
    await victim.waitForLog("registered with the hub");
    // Its poll is parked at the hub ...
    await until(() => t.mesh.hub.waiters.count("w-victim") === 1, 10_000, "a parked poll");
    victim.child.kill("SIGKILL");
    await victim.exited;
    // ... and the hub sees the connection close unanswered.
    const lost = await until(
      async () => (await t.api.agent("w-victim"))?.poll_lost_at ?? null,
      10_000,
      "poll lost",
    );
    expect(lost).toBeGreaterThan(0);
    // Still within its offline timeout: the old code assigned it the next task.
    expect((await t.api.agent("w-victim"))?.status).toBe("online");

    const passes = t.mesh.dispatcher.stats().passes;
    const task = await t.api.createTask({ prompt: "who takes this", required_capability: "research" });
    await until(() => t.mesh.dispatcher.stats().passes > passes + 1, 10_000, "a dispatch pass");
    expect(await t.api.task(task.id)).toMatchObject({ status: "queued", assigned_to: null });

    const rescuer = spawnWorker(workerArgs(t, "w-rescuer", [...hanging, "--base-url", fake.url]), ENV);
    await rescuer.waitForLog("registered with the hub");
    const taken = await t.api.waitForTask(task.id, "running", 15_000);
    expect(taken.assigned_to).toBe("w-rescuer");

    // The victim restarted under its id polls again: the mark is gone.
    const back = spawnWorker(workerArgs(t, "w-victim", [...hanging, "--base-url", fake.url]), ENV);
    await back.waitForLog("registered with the hub");
    await until(async () => (await t.api.agent("w-victim"))?.poll_lost_at === null, 10_000, "polling again");
  }, 90_000);

  it("a task assigned to an agent that never picks it up goes back at the pickup timeout, at no attempt's cost", async () => {
    const redis = await privateRedis();
    const t = await testMesh("redis", { redisUrl: redis.url, dispatcher: SLOW_SWEEPS });
    const stream = await collectEvents(t.url);
    // A worker that registers and dies before its first poll: only its registration reached the hub.
    const reg = await fetch(`${t.url}/api/agents/w-ghost/register`, {
      method: "POST",
      headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
      body: JSON.stringify({ capabilities: ["research"], max_concurrent: 1 }),
    });
    expect(reg.status).toBe(200);
    const task = await t.api.createTask({ prompt: "nobody home", required_capability: "research" });
    const assigned = await t.api.waitForTask(task.id, "assigned", 10_000);
    expect(assigned.assigned_to).toBe("w-ghost");
    const assignedAt = Date.now();
    const back = await until(
      () =>
        stream.events.find(
          (e) =>
            e.type === "task_requeued" && e.data.task_id === task.id && e.data.reason === "pickup_timeout",
        ),
      15_000,
      "pickup timeout requeue",
    );
    // Well before the 2-minute offline timeout, and free: the ghost never started it.
    expect(Date.now() - assignedAt).toBeLessThan(10_000);
    expect(back.data).toMatchObject({ previous_agent_id: "w-ghost", attempts: 0 });

    // The ghost is marked as not polling, so it is not handed the task again: a real worker takes it.
    expect((await t.api.agent("w-ghost"))?.poll_lost_at).toBeGreaterThan(0);
    const live = spawnWorker(workerArgs(t, "w-live", [...hanging, "--base-url", fake.url]), ENV);
    await live.waitForLog("registered with the hub");
    const taken = await t.api.waitForTask(task.id, (x) => x.status === "running", 20_000);
    expect(taken).toMatchObject({ assigned_to: "w-live", attempts: 1, attempt: 1 });
    stream.close();
  }, 90_000);
});
