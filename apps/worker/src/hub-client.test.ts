import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@m3shd/client";
import { startMesh } from "@m3shd/mesh";
import { type Task, UnavailableError } from "@m3shd/protocol";
import { pino } from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { HubClient, withAttempt } from "./hub-client";

const MASTER = "hub-client-test-master-token-000000000000";

/** A real task, made by a real hub, to serve from the scripted server below. */
async function realTask(): Promise<Task> {
  const dataDir = mkdtempSync(join(tmpdir(), "m3shd-hub-client-"));
  const mesh = await startMesh({
    dataDir,
    port: 0,
    masterToken: MASTER,
    memory: { enabled: false },
    logger: pino({ level: "silent" }),
  });
  try {
    const client = createClient({ baseUrl: mesh.url, token: MASTER });
    const { body } = await client.tasks.create({
      body: { title: "t", prompt: "p", required_capability: "echo" },
    });
    return body.task;
  } finally {
    await mesh.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A loopback server that answers from a script and records each request and its socket. */
async function scripted(answer: (req: IncomingMessage, body: string, index: number) => [number, unknown]) {
  const seen: { url: string; body: string; socket: unknown; headers: IncomingMessage["headers"] }[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString("utf8");
    });
    req.on("end", () => {
      seen.push({ url: req.url ?? "", body, socket: req.socket, headers: req.headers });
      const [status, json] = answer(req, body, seen.length - 1);
      if (json === undefined) res.writeHead(status).end();
      else res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  onTestFinished(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${address.port}`, seen };
}

describe("HubClient", () => {
  it("adds the claim's attempt to writes only when the hub issued one", () => {
    expect(withAttempt({ status: "done", output: "x" }, undefined)).toEqual({ status: "done", output: "x" });
    expect(withAttempt({ content: "x", seq: 0 }, 4)).toEqual({ content: "x", seq: 0, attempt: 4 });
  });

  it("returns the long-poll's attempt and sends it on every write of the execution", async () => {
    const task = await realTask();
    const hub = await scripted((req) => {
      if (req.url?.includes("/tasks/next")) return [200, { task, attempt: 3 }];
      if (req.url?.endsWith("/stream")) return [200, { attempt: 3, seq: 0, duplicate: false }];
      if (req.url?.endsWith("/handoff")) return [201, { task, continuation: task }];
      return [200, { task, replayed: false }];
    });
    const client = new HubClient({ baseUrl: hub.url, token: MASTER, agentId: "w-1", requestTimeoutMs: 5000 });
    const claim = await client.nextTask(1);
    expect(claim?.attempt).toBe(3);
    expect(claim?.task.id).toBe(task.id);
    const attempt = claim?.attempt ?? 0;
    await client.stream(task.id, { content: "x", seq: 0, attempt });
    await client.complete(task.id, { status: "done", output: "x", attempt });
    const bodies = hub.seen.slice(1).map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(bodies.map((b) => b.attempt)).toEqual([3, 3]);
    expect(hub.seen[0]?.url).toBe("/api/agents/w-1/tasks/next?wait=1");
    expect(hub.seen.every((r) => r.headers["x-m3shd-agent"] === "w-1")).toBe(true);
    expect(hub.seen.every((r) => r.headers.authorization === `Bearer ${MASTER}`)).toBe(true);
  });

  it("keeps its connection alive, but drops the pool after a 5xx so the next request connects afresh", async () => {
    const task = await realTask();
    const hub = await scripted((_req, _body, i) =>
      i === 1 ? [500, { error: { code: "internal", message: "boom" } }] : [200, { task }],
    );
    const client = new HubClient({
      baseUrl: hub.url,
      token: MASTER,
      agentId: "w-1",
      requestTimeoutMs: 5000,
      retryMaxDelayMs: 10,
    });
    await client.getTask(task.id);
    await expect(client.getTask(task.id)).rejects.toMatchObject({ status: 500, code: "internal" });
    await client.getTask(task.id);
    await client.getTask(task.id);
    const [a, b, c, d] = hub.seen.map((r) => r.socket);
    expect(b).toBe(a); // keep-alive: the same connection
    expect(c).not.toBe(b); // after the 500 the pool was dropped
    expect(d).toBe(c);
  });

  it("retries a 503 with backoff, on a fresh connection, and gives up bounded", async () => {
    const task = await realTask();
    const hub = await scripted((_req, _body, i) =>
      i === 0 ? [503, { error: { code: "unavailable", message: "draining" } }] : [200, { task }],
    );
    const client = new HubClient({ baseUrl: hub.url, token: MASTER, agentId: "w-1", requestTimeoutMs: 5000 });
    expect((await client.getTask(task.id)).id).toBe(task.id);
    expect(hub.seen).toHaveLength(2);
    expect(hub.seen[1]?.socket).not.toBe(hub.seen[0]?.socket);
    const always503 = await scripted(() => [503, { error: { code: "unavailable", message: "down" } }]);
    const down = new HubClient({
      baseUrl: always503.url,
      token: MASTER,
      agentId: "w-1",
      requestTimeoutMs: 5000,
      retryMaxDelayMs: 10,
    });
    await expect(down.getTask(task.id)).rejects.toBeInstanceOf(UnavailableError);
    expect(always503.seen).toHaveLength(3);
  });
});
