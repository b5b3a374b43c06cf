import { type FakeProviderServer, startFakeProviderServer } from "@m3shd/providers/fake-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnWorker, testMesh, until, WORKER_ENV, workerArgs } from "./helpers";

let fake: FakeProviderServer;
beforeAll(async () => {
  fake = await startFakeProviderServer();
});
afterAll(async () => {
  await fake.close();
});

describe("the m3shd-worker command", () => {
  it("rejects bad configuration with exit code 2 and a message that never shows the token", async () => {
    const secret = "a-secret-token-that-must-not-leak";
    const worker = spawnWorker(["--hub", "not a url", "--id", "UPPER", "--provider", "anthropic"], {
      M3SHD_TOKEN: secret,
    });
    const { code } = await worker.exited;
    expect(code).toBe(2);
    expect(worker.stderr()).toContain("--hub / M3SHD_HUB (hub): Invalid URL");
    expect(worker.stderr()).toContain("--id / M3SHD_AGENT_ID (id): Expected an agent id");
    expect(worker.stderr()).toContain("provider.apiKey");
    expect(worker.stderr()).not.toContain(secret);
  });

  it("stops with exit code 2 when the hub refuses the token", async () => {
    const t = await testMesh("embedded");
    const worker = spawnWorker(workerArgs(t, "w-denied", ["--provider", "jobs"]), {
      M3SHD_TOKEN: "wrong-token-wrong-token-wrong-token",
    });
    const { code } = await worker.exited;
    expect(code).toBe(2);
    expect(worker.logs.find((l) => l.msg === "the hub refused this worker; stopping")).toBeDefined();
    expect(JSON.stringify(worker.logs)).not.toContain("wrong-token");
  });

  it("on SIGTERM lets the grace period pass, hands the running task off with its partial output, and exits 0", async () => {
    const t = await testMesh("embedded");
    fake.enqueue({ kind: "hang", afterChunks: 2 }, { model: "claude-sigterm" });
    const worker = spawnWorker(
      workerArgs(t, "w-sigterm", [
        "--capabilities",
        "research",
        "--provider",
        "anthropic",
        "--model",
        "claude-sigterm",
        "--base-url",
        fake.url,
        "--shutdown-grace",
        "300ms",
      ]),
      { ...WORKER_ENV, ANTHROPIC_API_KEY: "k" },
    );
    await worker.waitForLog("registered with the hub");
    const task = await t.api.createTask({ prompt: "a long essay", required_capability: "research" });
    await until(async () => (await t.api.chunks(task.id)).length > 0, 10_000, "a streamed chunk");
    worker.child.kill("SIGTERM");
    const { code } = await worker.exited;
    expect(code).toBe(0);
    const suspended = await t.api.task(task.id);
    expect(suspended).toMatchObject({ status: "suspended", partial_output: "[claude-sigterm] a" });
    expect(suspended.continued_by).not.toBeNull();
    expect(worker.stderr()).toContain("SIGTERM received, stopping gracefully");
  });
});
