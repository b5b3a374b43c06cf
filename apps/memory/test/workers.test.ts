import { randomUUID } from "node:crypto";
import { createQueueRuntime, type QueueRuntime } from "@m3shd/queue";
import { describe, expect, it, onTestFinished } from "vitest";
import type { MemoryService } from "../src/service";
import { type JobDoneEvent, startMemoryWorkers } from "../src/workers";
import { newService, taskId } from "./helpers";
import { dropRedisPrefix, REDIS_URL } from "./redis";

/** A queue runtime per test: in-process, or real Redis under a unique prefix dropped afterwards. */
async function runtime(kind: "memory" | "redis"): Promise<QueueRuntime> {
  const prefix = `m3shd-memtest-${randomUUID()}`;
  const queue = await createQueueRuntime(kind === "redis" ? { redisUrl: REDIS_URL, prefix } : {});
  onTestFinished(async () => {
    await queue.close();
    if (kind === "redis") await dropRedisPrefix(prefix);
  });
  return queue;
}

/** Job-completion events as an async queue: tests await the next event instead of sleeping. */
function jobEvents() {
  const buffered: JobDoneEvent[] = [];
  const waiters: ((e: JobDoneEvent) => void)[] = [];
  return {
    onJobDone(event: JobDoneEvent) {
      const waiter = waiters.shift();
      if (waiter) waiter(event);
      else buffered.push(event);
    },
    next(): Promise<JobDoneEvent> {
      const ready = buffered.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/** Polls a condition (the queue's own state, not a fixed sleep) until it holds. */
async function waitUntil(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function startWorkers(kind: "memory" | "redis", service: MemoryService, consolidateEveryMs = 0) {
  const queue = await runtime(kind);
  const events = jobEvents();
  await startMemoryWorkers(queue, service, { consolidateEveryMs, onJobDone: events.onJobDone });
  return { queue, events };
}

describe.each(["memory", "redis"] as const)("memory workers on the %s queue", (kind) => {
  it("memory.extract stores [REMEMBER] blocks with the task as source; redelivery changes nothing", async () => {
    const { service } = newService();
    const { queue, events } = await startWorkers(kind, service);
    const output =
      "Done.\n[REMEMBER] deploy target: staging [/REMEMBER]\n[REMEMBER] bad block [/REMEMBER]\n[REMEMBER] owner:\nAda\nLovelace [/REMEMBER]";
    await queue.jobs.enqueue("memory.extract", { taskId: taskId(1), agentId: "alpha", output });
    const first = await events.next();
    expect(first).toMatchObject({
      name: "memory.extract",
      taskId: taskId(1),
      result: { created: 2, malformed: 1 },
    });
    expect(service.get("alpha", "owner")).toMatchObject({ value: "Ada\nLovelace", sourceTaskId: taskId(1) });

    // A redelivery: the same job again once the first is no longer pending (its de-duplication key is free).
    await waitUntil(
      async () => !(await queue.jobs.isPending("memory.extract", { taskId: taskId(1), agentId: "alpha" })),
    );
    await queue.jobs.enqueue("memory.extract", { taskId: taskId(1), agentId: "alpha", output });
    expect(await events.next()).toMatchObject({ result: { created: 0, updated: 0, unchanged: 2 } });

    await queue.jobs.enqueue("memory.extract", { taskId: taskId(2), agentId: "alpha" });
    expect(await events.next()).toMatchObject({ taskId: taskId(2), result: null });
  });

  it("memory.consolidate runs on demand", async () => {
    const { service } = newService();
    const { queue, events } = await startWorkers(kind, service);
    service.store({ agentId: "alpha", key: "a b", value: "teal" });
    service.store({ agentId: "alpha", key: "a-b", value: "teal" });
    await queue.jobs.enqueue("memory.consolidate", { agentId: "alpha" });
    expect(await events.next()).toMatchObject({
      name: "memory.consolidate",
      agentId: "alpha",
      result: { duplicates: 1 },
    });
    await waitUntil(async () => !(await queue.jobs.isPending("memory.consolidate", { agentId: "alpha" })));
    await queue.jobs.enqueue("memory.consolidate", {});
    expect(await events.next()).toMatchObject({ agentId: null, result: { changed: false } });
  });
});

describe("consolidation schedule", () => {
  it("runs memory.consolidate on the configured interval (in-process driver)", async () => {
    const { service } = newService();
    service.store({ agentId: "alpha", key: "x y", value: "teal" });
    service.store({ agentId: "alpha", key: "x_y", value: "teal" });
    const { events } = await startWorkers("memory", service, 50);
    expect(await events.next()).toMatchObject({ name: "memory.consolidate", result: { duplicates: 1 } });
    expect(await events.next()).toMatchObject({ name: "memory.consolidate", result: { changed: false } });
  });

  it("declares a BullMQ job scheduler on Redis", async () => {
    const { service } = newService();
    service.store({ agentId: "alpha", key: "x y", value: "teal" });
    service.store({ agentId: "alpha", key: "x_y", value: "teal" });
    const { events } = await startWorkers("redis", service, 60_000);
    // BullMQ runs an `every` scheduler's first iteration immediately.
    expect(await events.next()).toMatchObject({ name: "memory.consolidate", result: { duplicates: 1 } });
  });
});
