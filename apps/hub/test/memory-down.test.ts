import { createServer } from "node:net";
import { getAgent, transitionTask, upsertAgent } from "@m3shd/db";
import { createHttpMemoryClient } from "@m3shd/memory";
import { describe, expect, test } from "vitest";
import { MASTER, startTestHub } from "./security-fixture";

/** A loopback port with nothing listening (bound, then released). */
function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 9));
    });
  });
}

describe("memory service down", () => {
  test("the task still runs, without memories, and the task says so", async () => {
    const port = await deadPort();
    const t = await startTestHub();
    // Swap in an HTTP client aimed at nothing: the split deployment with its memory process down.
    t.hub.ctx.memory = {
      client: createHttpMemoryClient({
        baseUrl: `http://127.0.0.1:${port}`,
        serviceToken: "s".repeat(40),
        timeoutMs: 300,
      }),
      topK: 5,
      charBudget: 2000,
    };
    const created = await t.call("POST", "/api/tasks", {
      token: MASTER,
      body: { title: "t", prompt: "remember anything?", required_capability: "echo", assign_to: "w1" },
    });
    expect(created.status).toBe(201);
    upsertAgent(t.database.db, {
      id: "w1",
      name: "w1",
      capabilities: ["echo"],
      maxConcurrent: 1,
      now: t.clock.now,
    });
    expect(getAgent(t.database.db, "w1")).toBeTruthy();
    transitionTask(t.database.db, {
      id: created.body.task.id,
      from: "queued",
      to: "assigned",
      set: { assignedTo: "w1" },
      now: t.clock.now,
    });
    const next = await t.call("GET", "/api/agents/w1/tasks/next?wait=1", { token: MASTER });
    expect(next.status).toBe(200);
    expect(next.body.task).toMatchObject({
      id: created.body.task.id,
      status: "running",
      prompt: "remember anything?",
      memory: { status: "unavailable", chars: 0 },
    });
    // The memory API answers 503 with the error envelope, not a 500.
    const api = await t.call("GET", "/api/agents/w1/memory", { token: MASTER });
    expect(api.status).toBe(503);
    expect(api.body.error.code).toBe("unavailable");
  });
});
