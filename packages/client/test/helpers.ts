import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, createServer as createNetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Mesh, startMesh } from "@m3shd/mesh";
import { pino } from "pino";
import { onTestFinished } from "vitest";

export const MASTER = "client-test-master-token-not-a-secret-0123";

/** A real mesh (hub + dispatcher, embedded queues) on an ephemeral loopback port, its own data dir. */
export async function testMesh(): Promise<Mesh> {
  const dataDir = mkdtempSync(join(tmpdir(), "m3shd-client-"));
  const mesh = await startMesh({
    dataDir,
    port: 0,
    masterToken: MASTER,
    memory: { enabled: false },
    logger: pino({ level: process.env.M3SHD_TEST_LOG ?? "silent" }),
    hub: { sse: { replayCapacity: 1000, queueLimit: 500, keepaliveMs: 1000 } },
    dispatcher: {
      sweepEveryMs: { heartbeats: 500, zombies: 1000, deadlines: 1000, reconcile: 500 },
    },
  });
  onTestFinished(async () => {
    await mesh.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return mesh;
}

/** A small HTTP server the test scripts answer by answer; records every request. */
export interface ScriptedServer {
  url: string;
  requests: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[];
}

export async function scriptedServer(
  handler: (req: IncomingMessage, res: ServerResponse, index: number, body: string) => void,
): Promise<ScriptedServer & { server: Server }> {
  const requests: ScriptedServer["requests"] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => {
      const body = Buffer.concat(parts).toString("utf8");
      const index = requests.length;
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      handler(req, res, index, body);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  onTestFinished(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${address.port}`, requests, server };
}

/**
 * A TCP proxy in front of the hub whose connections the test can cut: the way to make a real
 * server-side drop of an SSE connection in the middle of a stream.
 */
export async function dropProxy(
  target: string,
): Promise<{ url: string; dropAll(): void; connections(): number }> {
  const { hostname, port } = new URL(target);
  const pairs = new Set<[Socket, Socket]>();
  let total = 0;
  const server = createNetServer((client) => {
    total++;
    const upstream = connect(Number(port), hostname);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no address");
  onTestFinished(async () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${address.port}`,
    dropAll() {
      for (const [a, b] of [...pairs]) {
        a.destroy();
        b.destroy();
      }
    },
    connections: () => total,
  };
}

/** Polls `fn` until it returns something truthy. For real state, never as a sleep. */
export async function until<T>(
  fn: () => T | Promise<T>,
  ms = 10_000,
  what = "condition",
): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
