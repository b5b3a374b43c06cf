import { setTimeout as sleep } from "node:timers/promises";
import { type FakeProviderServer, startFakeProviderServer } from "@m3shd/providers/fake-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnWorker, testMesh, until, WORKER_ENV, workerArgs } from "./helpers";

let fake: FakeProviderServer;
beforeAll(async () => {
  fake = await startFakeProviderServer({
    defaultReply: (req) => ({ kind: "reply", text: `re: ${req.prompt}` }),
  });
});
afterAll(async () => {
  await fake.close();
});

const provider = (model: string) => [
  "--capabilities",
  "research",
  "--provider",
  "anthropic",
  "--model",
  model,
  "--base-url",
  fake.url,
];
const ENV = { ...WORKER_ENV, ANTHROPIC_API_KEY: "sk-ant-e2e" };

describe("--max-load", () => {
  it("a worker over its ceiling says so in its heartbeat and the dispatcher assigns it nothing", async () => {
    const t = await testMesh("embedded");
    // Any real machine's load average is above 0.0001: this worker is over its ceiling from the start.
    const over = spawnWorker(workerArgs(t, "w-over", [...provider("m-over"), "--max-load", "0.0001"]), ENV);
    await over.waitForLog("registered with the hub");
    await until(async () => (await t.api.agent("w-over"))?.draining === true, 10_000, "draining flag");

    const passes = t.mesh.dispatcher.stats().passes;
    const task = await t.api.createTask({ prompt: "who takes this", required_capability: "research" });
    // A dispatch pass ran after the task was created (the creation requests one) ...
    await until(() => t.mesh.dispatcher.stats().passes > passes + 1, 10_000, "a dispatch pass");
    // ... and left it queued rather than parking it on an agent that will not poll.
    expect((await t.api.task(task.id)).status).toBe("queued");

    // A worker under its ceiling gets it at once.
    const ok = spawnWorker(workerArgs(t, "w-ok", provider("m-ok")), ENV);
    await ok.waitForLog("registered with the hub");
    const done = await t.api.waitForTask(task.id, "done");
    expect(done.assigned_to).toBe("w-ok");
    expect(done.output).toBe("re: who takes this");
  }, 60_000);
});

describe("hub restart", () => {
  it("a successful heartbeat wakes a poll loop asleep in its backoff", async () => {
    const t = await testMesh("embedded");
    // A long retry ceiling: without the wake-up the poll loop can sleep for many seconds.
    const args = workerArgs(t, "w-restart", provider("m-restart"));
    args[args.indexOf("--hub-retry-max") + 1] = "60s";
    const worker = spawnWorker(args, ENV);
    await worker.waitForLog("registered with the hub");
    await t.close();
    await worker.waitForLog("hub unreachable; results will be spooled until it returns");
    // The outage itself: long enough for the poll backoff to grow to many seconds.
    await sleep(12_000);
    await t.restart();
    // The heartbeat (every 300 ms) finds the hub first; that wakes the poll loop.
    await worker.waitForLog("hub reachable again", 20_000);
    const created = Date.now();
    const task = await t.api.createTask({ prompt: "after the restart", required_capability: "research" });
    await t.api.waitForTask(task.id, (x) => x.status === "running" || x.status === "done", 20_000);
    // Picked up by a poll that is already waiting, not after the rest of a multi-second backoff.
    expect(Date.now() - created).toBeLessThan(3000);
  }, 60_000);
});
