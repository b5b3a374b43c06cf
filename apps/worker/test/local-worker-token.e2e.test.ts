import { JOB_NAMES } from "@m3shd/providers";
import { describe, expect, it } from "vitest";
// The helper `pnpm start` (scripts/start.mjs) uses to give its local worker a token.
import { LOCAL_JOB_CAPABILITIES, mintLocalWorkerToken } from "../../../scripts/local-worker-token.mjs";
import { MASTER, spawnWorker, testMesh, workerArgs } from "./helpers";

describe("pnpm start's local worker token", () => {
  it("is a scoped agent token bound to the jobs' capabilities, and a real jobs worker runs on it", async () => {
    expect([...LOCAL_JOB_CAPABILITIES].sort()).toEqual([...JOB_NAMES].sort());
    const t = await testMesh("embedded");
    const token = await mintLocalWorkerToken(t.url, MASTER, "local-jobs");
    expect(token).toMatch(/^m3shd_ag_/);
    expect(token).not.toBe(MASTER);

    // The worker runs with it (and only it: no master token in its environment).
    const worker = spawnWorker(workerArgs(t, "local-jobs", ["--provider", "jobs"]), { M3SHD_TOKEN: token });
    await worker.waitForLog("registered with the hub");
    const task = await t.api.createTask({ prompt: "hello", required_capability: "echo" });
    expect((await t.api.waitForTask(task.id, "done")).output).toBe("hello");

    const as = (path: string, init: RequestInit = {}) =>
      fetch(`${t.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      });
    // Not an operator: no admin routes, no acting for another agent, no capabilities beyond the jobs.
    expect((await as("/api/tokens")).status).toBe(403);
    const other = await as("/api/agents/someone-else/register", {
      method: "POST",
      body: JSON.stringify({ capabilities: ["echo"], max_concurrent: 1 }),
    });
    expect(other.status).toBe(403);
    const wider = await as("/api/agents/local-jobs/register", {
      method: "POST",
      body: JSON.stringify({ capabilities: ["echo", "code"], max_concurrent: 1 }),
    });
    expect(wider.status).toBe(403);

    // The next start revokes this token and mints a fresh one.
    const next = await mintLocalWorkerToken(t.url, MASTER, "local-jobs");
    expect(next).not.toBe(token);
    expect(
      (await as("/api/agents/local-jobs/heartbeat", { method: "POST", body: '{"active_tasks":0}' })).status,
    ).toBe(401);
  }, 60_000);
});
