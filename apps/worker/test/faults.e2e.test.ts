import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type FakeProviderServer, startFakeProviderServer } from "@m3shd/providers/fake-server";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MODES, spawnWorker, spooled, tempDir, testMesh, until, WORKER_ENV, workerArgs } from "./helpers";

let fake: FakeProviderServer;
beforeAll(async () => {
  fake = await startFakeProviderServer();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const claudeArgs = (model: string) => [
  "--capabilities",
  "research",
  "--provider",
  "anthropic",
  "--model",
  model,
  "--base-url",
  fake.url,
];
const CLAUDE_ENV = { ...WORKER_ENV, ANTHROPIC_API_KEY: "sk-ant-e2e" };

describe("provider faults", () => {
  it("a 429 is retried after its retry-after and the task succeeds on the same hub attempt", async () => {
    const t = await testMesh("embedded");
    fake.enqueue(
      [
        { kind: "error", status: 429, retryAfterSeconds: 0.3 },
        { kind: "reply", text: "after the rate limit" },
      ],
      { model: "claude-429" },
    );
    const worker = spawnWorker(workerArgs(t, "w-429", claudeArgs("claude-429")), CLAUDE_ENV);
    await worker.waitForLog("registered with the hub");
    const task = await t.api.createTask({ prompt: "hi", required_capability: "research" });
    const done = await t.api.waitForTask(task.id, "done");
    expect(done.output).toBe("after the rate limit");
    expect(done.attempts).toBe(1);
    expect(fake.requests.filter((r) => r.api === "anthropic").map((r) => r.answeredWith)).toEqual([
      "error",
      "reply",
    ]);
    const finished = await worker.waitForLog("task finished");
    expect(finished.attempts).toBe(2);
  });

  it("a provider that keeps failing trips the agent's circuit breaker, and the worker backs off", async () => {
    const t = await testMesh("embedded");
    const config = join(tempDir("m3shd-worker-cfg-"), "worker.json");
    writeFileSync(
      config,
      JSON.stringify({
        provider: {
          kind: "openai-compatible",
          baseURL: fake.openaiBaseURL,
          model: "broken-model",
          retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
        },
      }),
    );
    fake.enqueue(
      Array.from({ length: 30 }, () => ({ kind: "error" as const, status: 500 })),
      { model: "broken-model" },
    );
    const worker = spawnWorker(
      workerArgs(t, "w-broken", ["--config", config, "--capabilities", "flaky"]),
      WORKER_ENV,
    );
    await worker.waitForLog("registered with the hub");
    const tasks = await Promise.all(
      [1, 2, 3].map((n) =>
        t.api.createTask({ prompt: `try ${n}`, required_capability: "flaky", max_attempts: 1 }),
      ),
    );
    const failed = await Promise.all(tasks.map((task) => t.api.waitForTask(task.id, "failed")));
    for (const task of failed) {
      expect(task.error).toMatch(/^openai-compatible provider: 500 .*\(server_error, 2 attempt\(s\)\)$/);
    }
    const agent = await until(async () => {
      const a = await t.api.agent("w-broken");
      return a?.breaker.state === "open" ? a : null;
    });
    expect(agent.breaker.failures).toBeGreaterThanOrEqual(3);
    // The worker's own backoff: after three straight failures it stops asking for work for a while.
    const paused = await worker.waitForLog(
      (l) => typeof l.msg === "string" && l.msg.startsWith("repeated task failures"),
    );
    expect(paused).toMatchObject({ consecutive_failures: 3, pause_ms: 5000 });
    // Two provider attempts per task, nothing more: no hot loop.
    expect(fake.requests.filter((r) => (r.body as { model?: string }).model === "broken-model")).toHaveLength(
      6,
    );
  });
});

describe.each(MODES)("worker crashes and hub outages (%s)", (mode) => {
  it("a worker killed with SIGKILL mid-task has its task requeued and finished by another worker", async () => {
    const t = await testMesh(mode);
    // The first worker's call streams slowly; it will not live to finish it.
    fake.enqueue(
      { kind: "reply", chunks: Array.from({ length: 20 }, (_, i) => `word${i} `), delayMs: 400 },
      { model: "claude-crash" },
    );
    const doomed = spawnWorker(workerArgs(t, "w-doomed", claudeArgs("claude-crash")), CLAUDE_ENV);
    await doomed.waitForLog("registered with the hub");
    const task = await t.api.createTask({ prompt: "long job", required_capability: "research" });
    await t.api.waitForTask(task.id, (x) => x.status === "running" && x.assigned_to === "w-doomed");
    await until(async () => (await t.api.chunks(task.id)).length > 0, 10_000, "first streamed chunk");

    doomed.child.kill("SIGKILL");
    expect((await doomed.exited).signal).toBe("SIGKILL");
    const rescuer = spawnWorker(workerArgs(t, "w-rescuer", claudeArgs("claude-crash")), CLAUDE_ENV);

    const done = await t.api.waitForTask(task.id, "done", 30_000);
    expect(done.assigned_to).toBe("w-rescuer");
    expect(done.attempts).toBe(2);
    expect(done.output).toBe("[claude-crash] long job");
    expect((await t.api.agent("w-doomed"))?.status).toBe("offline");
    const provenance = await t.api.provenance(task.id);
    expect(provenance.verdict.ok).toBe(true);
    expect(provenance.chain.filter((l) => l.task_id === task.id)).toEqual([
      expect.objectContaining({ agent_id: "w-rescuer" }),
    ]);
    await rescuer.waitForLog("result delivered");
  });

  it("a worker that finishes while the hub is down spools the result and delivers it exactly once", async () => {
    // Liveness outlasts the outage, so the hub still holds the task for this worker on return.
    const t = await testMesh(mode, { dispatcher: { offlineAfterMs: 30_000 } });
    const chunks = ["one ", "two ", "three ", "four"];
    let finishModel: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      finishModel = resolve;
    });
    // The model streams one word, then waits for the test to let it finish: only once the hub is down.
    fake.enqueue({ kind: "reply", chunks, gate, gateAfterChunks: 1 }, { model: "claude-spool" });
    const spoolDir = join(tempDir("m3shd-spool-"), "spool");
    const worker = spawnWorker(workerArgs(t, "w-spool", claudeArgs("claude-spool"), spoolDir), CLAUDE_ENV);
    await worker.waitForLog("registered with the hub");
    const task = await t.api.createTask({ prompt: "p", required_capability: "research" });
    await t.api.waitForTask(task.id, (x) => x.status === "running");
    await until(async () => (await t.api.chunks(task.id)).length > 0, 10_000, "first streamed chunk");

    await t.close(); // the hub goes away mid-task
    await worker.waitForLog("hub unreachable; results will be spooled until it returns");
    finishModel();
    await worker.waitForLog("task finished");
    await until(() => spooled(spoolDir).length === 1, 10_000, "result in the spool");
    expect(worker.logs.some((l) => l.msg === "result delivered")).toBe(false);

    await t.restart(); // same port, same database (and same Redis prefix)
    const done = await t.api.waitForTask(task.id, "done", 20_000);
    expect(done.output).toBe(chunks.join(""));
    expect(done.assigned_to).toBe("w-spool");
    expect(done.attempts).toBe(1);
    await until(() => spooled(spoolDir).length === 0, 5000, "spool drained");

    // Exactly once: one delivery, one provenance link, one Merkle leaf.
    await worker.waitForLog("result delivered");
    const deliveries = worker.logs.filter((l) => l.msg === "result delivered");
    expect(deliveries).toEqual([
      expect.objectContaining({ from_spool: true, replayed: false, task_id: task.id }),
    ]);
    const provenance = await t.api.provenance(task.id);
    expect(provenance.verdict.ok).toBe(true);
    expect(provenance.chain.filter((l) => l.task_id === task.id)).toHaveLength(1);
    // One result: its provenance leaf and its ledger entry's leaf.
    expect(await t.api.merkleSize()).toBe(2);
    worker.child.kill("SIGTERM");
    expect((await worker.exited).code).toBe(0);
    expect(worker.logs.filter((l) => l.msg === "result delivered")).toHaveLength(1);
  });
});
