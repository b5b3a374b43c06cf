import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { createQueueRuntime, type QueueRuntime, UnrecoverableJobError } from "../src";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const admin = new Redis(REDIS_URL, { lazyConnect: true });
afterAll(() => admin.disconnect());

/** Deletes every key under a test's prefix. */
async function dropPrefix(prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
    cursor = next;
    if (keys.length) await admin.del(...keys);
  } while (cursor !== "0");
}

/** A fresh runtime per test: in-process, or Redis under a unique prefix that is dropped after. */
async function runtime(kind: "memory" | "redis"): Promise<QueueRuntime> {
  const prefix = `m3shd-test-${randomUUID()}`;
  const rt = await createQueueRuntime(kind === "redis" ? { redisUrl: REDIS_URL, prefix } : {});
  onTestFinished(async () => {
    await rt.close();
    if (kind === "redis") await dropPrefix(prefix);
  });
  return rt;
}

/** Resolves when `count` values were collected (or rejects after `ms`). */
function collector<T>(count: number, ms = 10_000) {
  const items: T[] = [];
  let resolve: (v: T[]) => void = () => {};
  const done = new Promise<T[]>((res, rej) => {
    resolve = res;
    setTimeout(() => rej(new Error(`timed out with ${items.length}/${count}`)), ms).unref();
  });
  return {
    items,
    done,
    push(item: T) {
      items.push(item);
      if (items.length === count) resolve(items);
    },
  };
}

describe.each(["memory", "redis"] as const)("%s driver", (kind) => {
  it("delivers every job once, in order at concurrency 1", async () => {
    const rt = await runtime(kind);
    const got = collector<number>(20);
    rt.driver.consume("test.order", async (payload) => {
      got.push((payload as { n: number }).n);
    });
    for (let n = 0; n < 10; n++) await rt.driver.enqueue("test.order", { n });
    await rt.driver.enqueueBulk(
      "test.order",
      Array.from({ length: 10 }, (_, i) => ({ payload: { n: 10 + i } })),
    );
    expect(await got.done).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("de-duplicates waiting jobs by jobId", async () => {
    const rt = await runtime(kind);
    await rt.driver.enqueue("test.dedup", { v: 1 }, { jobId: "same", delayMs: 300 });
    await rt.driver.enqueue("test.dedup", { v: 2 }, { jobId: "same", delayMs: 300 });
    expect(await rt.driver.hasJob("test.dedup", "same")).toBe(true);
    expect(await rt.driver.hasJob("test.dedup", "other")).toBe(false);
    expect(await rt.driver.pendingCount("test.dedup")).toBe(1);
    const got = collector<unknown>(1);
    rt.driver.consume("test.dedup", async (p) => got.push(p));
    expect(await got.done).toEqual([{ v: 1 }]);
  });

  it("retries a failing job with an increasing attempt number", async () => {
    const rt = await runtime(kind);
    const attempts = collector<number>(2);
    rt.driver.consume("test.retry", async (_p, meta) => {
      attempts.push(meta.attempt);
      if (meta.attempt === 1) throw new Error("first try fails");
    });
    await rt.driver.enqueue("test.retry", {}, { attempts: 3 });
    expect(await attempts.done).toEqual([1, 2]);
  });

  it("does not retry an unrecoverable job", async () => {
    const failed = collector<string>(1);
    const prefix = `m3shd-test-${randomUUID()}`;
    const rt = await createQueueRuntime({
      ...(kind === "redis" ? { redisUrl: REDIS_URL, prefix } : {}),
      onJobFailed: (_name, jobId) => failed.push(jobId),
    });
    onTestFinished(async () => {
      await rt.close();
      await dropPrefix(prefix);
    });
    let calls = 0;
    rt.driver.consume("test.unrecoverable", async () => {
      calls++;
      throw new UnrecoverableJobError("bad payload");
    });
    await rt.driver.enqueue("test.unrecoverable", {}, { jobId: "poison", attempts: 5 });
    expect(await failed.done).toEqual(["poison"]);
    expect(calls).toBe(1);
  });

  it("holds a delayed job until its time", async () => {
    const rt = await runtime(kind);
    const got = collector<number>(1);
    rt.driver.consume("test.delay", async () => got.push(Date.now()));
    const start = Date.now();
    await rt.driver.enqueue("test.delay", {}, { delayMs: 400 });
    const [at] = await got.done;
    expect((at ?? 0) - start).toBeGreaterThanOrEqual(350);
  });

  it("runs a scheduled job repeatedly", async () => {
    const rt = await runtime(kind);
    const got = collector<unknown>(3);
    rt.driver.consume("test.schedule", async (p) => got.push(p));
    await rt.driver.schedule("test.schedule", "every-100ms", 100, { tick: true });
    expect(await got.done).toEqual([{ tick: true }, { tick: true }, { tick: true }]);
  });

  it("fans events out to every subscriber in publish order", async () => {
    const rt = await runtime(kind);
    const a = collector<unknown>(50);
    const b = collector<unknown>(50);
    rt.bus.subscribe((e) => a.push(e));
    const unsubscribe = rt.bus.subscribe((e) => b.push(e));
    for (let i = 0; i < 50; i++) await rt.bus.publish({ i });
    expect(await a.done).toEqual(Array.from({ length: 50 }, (_, i) => ({ i })));
    expect(await b.done).toEqual(a.items);
    unsubscribe();
    await rt.bus.publish({ i: 50 });
    await rt.bus.publish({ i: 51 });
    await new Promise((r) => setTimeout(r, 50));
    expect(b.items).toHaveLength(50);
  });

  it("records liveness as the latest time seen", async () => {
    const rt = await runtime(kind);
    await rt.liveness.touch("agent-a", 1000);
    await rt.liveness.touch("agent-b", 2000);
    await rt.liveness.touch("agent-a", 3000);
    expect(await rt.liveness.lastSeen("agent-a")).toBe(3000);
    expect(await rt.liveness.lastSeen("nobody")).toBeNull();
    expect([...(await rt.liveness.all()).entries()].sort()).toEqual([
      ["agent-a", 3000],
      ["agent-b", 2000],
    ]);
    await rt.liveness.remove("agent-b");
    expect(await rt.liveness.lastSeen("agent-b")).toBeNull();
  });

  it("reports each handled job's wait, run time and outcome to observers", async () => {
    const rt = await runtime(kind);
    const seen = collector<{ name: string; waitMs: number | null; outcome: string }>(2);
    const stop = rt.jobs.observe((o) => seen.push(o));
    rt.jobs.consume("dispatch.sweep", async ({ kind: sweep }) => {
      if (sweep === "zombies") throw new UnrecoverableJobError("no");
    });
    await rt.jobs.enqueue("dispatch.sweep", { kind: "heartbeats" });
    await rt.jobs.enqueue("dispatch.sweep", { kind: "zombies" });
    const [ok, failed] = await seen.done;
    stop();
    expect(ok).toMatchObject({ name: "dispatch.sweep", outcome: "ok" });
    expect(failed).toMatchObject({ name: "dispatch.sweep", outcome: "error" });
    // Both drivers say when a delivery became due, so the wait is known and not negative.
    expect(ok?.waitMs).toBeGreaterThanOrEqual(0);
  });

  it("reports its backing store", async () => {
    const rt = await runtime(kind);
    expect(rt.driver.kind).toBe(kind === "redis" ? "bullmq" : "memory");
    expect(await rt.driver.ping()).toBe(kind === "redis" ? "ok" : "n/a");
  });
});

describe("redis runtime across processes", () => {
  it("shares events, jobs and liveness between two runtimes on one prefix", async () => {
    const prefix = `m3shd-test-${randomUUID()}`;
    const one = await createQueueRuntime({ redisUrl: REDIS_URL, prefix });
    const two = await createQueueRuntime({ redisUrl: REDIS_URL, prefix });
    onTestFinished(async () => {
      await one.close();
      await two.close();
      await dropPrefix(prefix);
    });
    const events = collector<unknown>(1);
    two.bus.subscribe((e) => events.push(e));
    await one.bus.publish({ type: "hello" });
    expect(await events.done).toEqual([{ type: "hello" }]);

    const jobs = collector<unknown>(1);
    two.driver.consume("test.cross", async (p) => jobs.push(p));
    await one.driver.enqueue("test.cross", { from: "one" });
    expect(await jobs.done).toEqual([{ from: "one" }]);

    await one.liveness.touch("agent-x", 42);
    expect(await two.liveness.lastSeen("agent-x")).toBe(42);
  });

  it("fails start-up with a clear error when Redis does not answer", async () => {
    await expect(
      createQueueRuntime({
        redisUrl: "redis://:secret@127.0.0.1:1",
        prefix: "unreachable",
        connectTimeoutMs: 300,
      }),
    ).rejects.toThrow(/redis:\/\/:\*\*\*@127\.0\.0\.1:1\/? did not answer within 300 ms/);
  });
});
