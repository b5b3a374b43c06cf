import { join } from "node:path";
import { CONTINUATION_PROMPT_PREFIX } from "@m3shd/protocol";
import {
  type FakeProviderServer,
  type FakeScript,
  startFakeProviderServer,
} from "@m3shd/providers/fake-server";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { Spool } from "../src/spool";
import { startWorker, type WorkerHandle } from "../src/worker";
import { MASTER, spooled, type TestMesh, tempDir, testMesh, until } from "./helpers";

/** Scripted replies by prompt, so concurrent tasks get the behaviour each test wants. */
const byPrompt = new Map<string, FakeScript>();
/** Every prompt the fake provider received, in order: what the worker actually ran. */
const received: string[] = [];
let fake: FakeProviderServer;
beforeAll(async () => {
  fake = await startFakeProviderServer({
    defaultReply: (req) => {
      received.push(req.prompt);
      return byPrompt.get(req.prompt) ?? { kind: "reply", text: `answer to ${req.prompt}` };
    },
  });
});
afterAll(async () => {
  await fake.close();
});

function gate() {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** A logger whose lines the test can read. */
function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

async function worker(
  t: TestMesh,
  id: string,
  overrides: Record<string, unknown> = {},
  deps: Parameters<typeof startWorker>[1] = {},
): Promise<{ handle: WorkerHandle; lines: Record<string, unknown>[]; spoolDir: string }> {
  const { logger, lines } = memoryLogger();
  const spoolDir = (overrides.spoolDir as string | undefined) ?? join(tempDir("m3shd-spool-"), "spool");
  const handle = await startWorker(
    {
      hub: t.url,
      token: MASTER,
      id,
      capabilities: ["research"],
      heartbeatIntervalMs: 200,
      pollWaitSeconds: 5,
      hubRetryMaxMs: 200,
      spoolDir,
      provider: { kind: "anthropic", apiKey: "k", baseURL: fake.url, model: "claude-sonnet-5-5" },
      ...overrides,
    },
    { logger, ...deps },
  );
  onTestFinished(() => handle.stop({ graceMs: 0 }));
  await handle.registered;
  return { handle, lines, spoolDir };
}

describe("worker lifecycle (in-process startWorker)", () => {
  it("graceful stop: running work finishes within the grace period, the rest is handed off with its partial output", async () => {
    const t = await testMesh("embedded");
    const quick = gate();
    byPrompt.set("finishes in grace", {
      kind: "reply",
      chunks: ["done ", "in ", "time"],
      gate: quick.promise,
      gateAfterChunks: 1,
    });
    byPrompt.set("outlives grace", { kind: "hang", afterChunks: 2 });
    const { handle } = await worker(t, "w-grace", { slots: 2, shutdownGraceMs: 1500 });
    const a = await t.api.createTask({ prompt: "finishes in grace", required_capability: "research" });
    const b = await t.api.createTask({ prompt: "outlives grace", required_capability: "research" });
    for (const task of [a, b]) {
      await until(async () => (await t.api.chunks(task.id)).length > 0, 10_000, "a streamed chunk");
    }

    const stopping = handle.stop();
    quick.open();
    const doneA = await t.api.waitForTask(a.id, "done");
    expect(doneA.output).toBe("done in time");
    await stopping;

    const suspended = await t.api.task(b.id);
    expect(suspended.status).toBe("suspended");
    expect(suspended.partial_output).toBe("[claude-sonnet-5-5] outlives");
    expect(suspended.error).toBe("worker shutting down");
    const continuation = await t.api.task(suspended.continued_by ?? "");
    // The continuation keeps the submitted prompt; the partial work is composed in front of it.
    expect(continuation.prompt).toBe("outlives grace");
    expect(continuation.composed_prompt).toBe(
      `${CONTINUATION_PROMPT_PREFIX}\n[claude-sonnet-5-5] outlives\n\n---\nORIGINAL TASK:\noutlives grace`,
    );
    // Nothing is lost. The hub may even hand the continuation straight back to this worker: it has
    // no way to hear "I am leaving", so it stays assigned until the agent is seen offline.
    expect(["queued", "assigned"]).toContain(continuation.status);
    expect(handle.stats()).toMatchObject({ completed: 1, handedOff: 1, active: 0 });
    await handle.done;
  });

  it("a second stop with no grace hands off at once", async () => {
    const t = await testMesh("embedded");
    byPrompt.set("second signal", { kind: "hang", afterChunks: 1 });
    const { handle } = await worker(t, "w-twice", { shutdownGraceMs: 60_000 });
    const task = await t.api.createTask({ prompt: "second signal", required_capability: "research" });
    await until(async () => (await t.api.chunks(task.id)).length > 0, 10_000, "a streamed chunk");
    const started = Date.now();
    const first = handle.stop();
    void handle.stop({ graceMs: 0 });
    await first;
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await t.api.task(task.id)).status).toBe("suspended");
  });

  it("a task that outlives its timeout is aborted and failed with a clear reason", async () => {
    const t = await testMesh("embedded");
    byPrompt.set("too slow", { kind: "hang", afterChunks: 1 });
    const { handle } = await worker(t, "w-timeout", { taskTimeoutMs: 400 });
    const task = await t.api.createTask({
      prompt: "too slow",
      required_capability: "research",
      max_attempts: 1,
    });
    const failed = await t.api.waitForTask(task.id, "failed");
    expect(failed.error).toBe("task timed out after 0 s (worker task timeout)");
    expect(handle.stats()).toMatchObject({ failed: 1, consecutiveFailures: 1 });
  });

  it("refuses new work while the load average is above the ceiling", async () => {
    const t = await testMesh("embedded");
    let load = 50;
    const { handle, lines } = await worker(t, "w-loaded", { maxLoad: 4 }, { loadavg: () => load });
    const task = await t.api.createTask({ prompt: "wait for it", required_capability: "research" });
    await until(
      () => lines.find((l) => l.msg === "load above ceiling; not taking new work"),
      5000,
      "load warning",
    );
    // The dispatcher assigned it, but the worker did not ask for it.
    const assigned = await t.api.waitForTask(task.id, "assigned");
    expect(assigned.assigned_to).toBe("w-loaded");
    expect(handle.activeTasks()).toEqual([]);
    // The heartbeat reports the load it sees.
    await until(async () => (await t.api.agent("w-loaded"))?.load_avg === 50, 5000, "reported load");
    load = 0.5;
    expect((await t.api.waitForTask(task.id, "done")).output).toBe("answer to wait for it");
  });

  it("runs the composed prompt (parent outputs in front), while the stored prompt stays as submitted", async () => {
    const t = await testMesh("embedded");
    await worker(t, "w-compose");
    const parent = await t.api.createTask({
      title: "Notes",
      prompt: "compose: parent",
      required_capability: "research",
    });
    const submitted = "compose: child\r\n\t ünïcödé  \n";
    const child = await t.api.createTask({
      title: "Use",
      prompt: submitted,
      required_capability: "research",
      depends_on: [parent.id],
    });
    const done = await t.api.waitForTask(child.id, "done");
    const view = await t.api.task(child.id);
    expect(view.prompt).toBe(submitted);
    const parents = (view.prompt_parts as { parents: string }).parents;
    expect(parents).toContain(`(${parent.id}) ===\nanswer to compose: parent`);
    expect(view.composed_prompt).toBe(`${parents}\n${submitted}`);
    // What the provider received from the worker is the composed prompt, byte for byte.
    expect(received.filter((p) => p.endsWith(submitted))).toEqual([view.composed_prompt]);
    expect(done.output).toBe(`answer to ${view.composed_prompt}`);
  });

  it("a task cancelled on the hub is aborted on the worker and its result dropped", async () => {
    const t = await testMesh("embedded");
    byPrompt.set("cancel me", { kind: "hang", afterChunks: 1 });
    const { handle, lines } = await worker(t, "w-cancel");
    const task = await t.api.createTask({ prompt: "cancel me", required_capability: "research" });
    await until(async () => (await t.api.chunks(task.id)).length > 0, 10_000, "a streamed chunk");
    expect((await t.api.cancel(task.id)).status).toBe(200);
    await until(() => handle.stats().cancelled === 1, 5000, "cancellation noticed");
    expect(handle.activeTasks()).toEqual([]);
    expect(lines.some((l) => l.msg === "result delivered")).toBe(false);
    expect((await t.api.task(task.id)).status).toBe("cancelled");
    // The heartbeat told it (no per-task polling), and the next heartbeat acknowledged the notice.
    const db = t.mesh?.hub.ctx.database.sqlite;
    if (!db) throw new Error("mesh not running");
    await until(
      () =>
        (
          db.prepare("SELECT cancel_notice_at FROM tasks WHERE id = ?").get(task.id) as {
            cancel_notice_at: number | null;
          }
        ).cancel_notice_at === null,
      5000,
      "notice acknowledged",
    );
  });

  it("pauses after three consecutive failures, but bad job input does not count against the worker", async () => {
    const t = await testMesh("embedded");
    const jobs = await worker(t, "w-jobs-bad", { provider: { kind: "jobs" }, capabilities: ["research"] });
    const bad = await Promise.all(
      [1, 2, 3].map(() => t.api.createTask({ prompt: "not a job", required_capability: "research" })),
    );
    for (const task of bad) {
      const failed = await t.api.waitForTask(task.id, "failed");
      expect(failed.attempts).toBe(1); // non-retryable: failed at once, not requeued
      expect(failed.error).toMatch(/^jobs provider: Job input must be JSON/);
    }
    expect(jobs.handle.stats()).toMatchObject({ failed: 3, consecutiveFailures: 0, pausedUntil: 0 });

    byPrompt.set("always 400", { kind: "error", status: 400, message: "prompt is malformed" });
    const flaky = await worker(t, "w-pausing", { capabilities: ["flaky"], failureBackoffMs: 1500 });
    const failing = await Promise.all(
      [1, 2, 3].map(() =>
        t.api.createTask({ prompt: "always 400", required_capability: "flaky", max_attempts: 1 }),
      ),
    );
    await Promise.all(failing.map((task) => t.api.waitForTask(task.id, "failed")));
    const stats = flaky.handle.stats();
    expect(stats.consecutiveFailures).toBe(3);
    expect(stats.pausedUntil).toBeGreaterThan(Date.now());
    expect(stats.pausedUntil).toBeLessThanOrEqual(Date.now() + 1500);
    expect(flaky.lines.find((l) => String(l.msg).startsWith("repeated task failures"))).toMatchObject({
      pause_ms: 1500,
    });
  });

  it("on start, delivers a result spooled by a previous run whose task is still ours", async () => {
    const t = await testMesh("embedded", { dispatcher: { offlineAfterMs: 30_000 } });
    // A previous worker process registered, picked the task up, finished, and died before delivering.
    await t.api.call("POST", "/api/agents/w-reborn/register", {
      capabilities: ["research"],
      max_concurrent: 1,
    });
    const task = await t.api.createTask({ prompt: "x", required_capability: "research" });
    await t.api.waitForTask(task.id, "assigned");
    const claimed = await fetch(`${t.url}/api/agents/w-reborn/tasks/next?wait=5`, {
      headers: { authorization: `Bearer ${MASTER}` },
    });
    expect(claimed.status).toBe(200);
    const spoolDir = join(tempDir("m3shd-spool-"), "spool");
    const spool = new Spool(spoolDir);
    await spool.init();
    await spool.put({
      version: 1,
      kind: "complete",
      task_id: task.id,
      agent_id: "w-reborn",
      attempt: 1,
      created_at: Date.now(),
      body: { status: "done", output: "finished before the crash", attempt: 1 },
    });

    const { handle } = await worker(t, "w-reborn", { spoolDir });
    const done = await t.api.waitForTask(task.id, "done");
    expect(done.output).toBe("finished before the crash");
    await until(() => spooled(spoolDir).length === 0, 5000, "spool drained");
    // The counter moves just after the file is removed: wait for it rather than racing it.
    await until(() => handle.stats().redelivered === 1, 5000, "counted as redelivered");
  });

  it("drops a spooled result whose task has moved on, instead of completing someone else's attempt", async () => {
    const t = await testMesh("embedded");
    const task = await t.api.createTask({ prompt: "x", required_capability: "nobody-has-this" });
    const spoolDir = join(tempDir("m3shd-spool-"), "spool");
    const spool = new Spool(spoolDir);
    await spool.init();
    await spool.put({
      version: 1,
      kind: "complete",
      task_id: task.id,
      agent_id: "w-stale",
      attempt: 1,
      created_at: Date.now(),
      body: { status: "failed", error: "an old failure", retryable: true, attempt: 1 },
    });
    const { handle } = await worker(t, "w-stale", { spoolDir });
    await until(() => handle.stats().dropped === 1, 5000, "stale record dropped");
    expect(spooled(spoolDir)).toEqual([]);
    expect((await t.api.task(task.id)).status).toBe("queued");
  });

  it("re-registers when the hub forgets the agent", async () => {
    const t = await testMesh("embedded");
    const { lines } = await worker(t, "w-forgotten");
    // The hub comes back with an empty database: heartbeats and polls get 404 for this agent.
    await t.close();
    await t.restart({ fresh: true });
    await until(async () => (await t.api.agent("w-forgotten")) !== null, 10_000, "re-registration");
    expect(lines.some((l) => String(l.msg).startsWith("the hub does not know this agent"))).toBe(true);
    const task = await t.api.createTask({ prompt: "after the reset", required_capability: "research" });
    expect((await t.api.waitForTask(task.id, "done")).assigned_to).toBe("w-forgotten");
  });
});
