import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createClient } from "@m3shd/client";
import { type Mesh, startMesh } from "@m3shd/mesh";
import {
  completeTaskRoute,
  heartbeatRoute,
  mintTokenRoute,
  type Permission,
  registerAgentRoute,
  streamChunkRoute,
} from "@m3shd/protocol";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { type CallToolResult, CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { pino } from "pino";
import { expect, onTestFinished } from "vitest";
import { ERROR_META_KEY } from "../../src/errors";

export const MASTER = "mcp-e2e-master-token-not-a-secret-000000";
const require = createRequire(import.meta.url);

/** The BUILT binary (`pnpm turbo run build --filter=@m3shd/mcp`): what users run. */
export const MCP_BINARY = fileURLToPath(new URL("../../dist/index.js", import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(MCP_BINARY)) {
    throw new Error(`${MCP_BINARY} is missing: run \`pnpm turbo run build --filter=@m3shd/mcp\` first`);
  }
}

/** Registers a teardown: `onTestFinished` inside a test, a `Scope`'s `cleanup` in `beforeAll`. */
export type Cleanup = (fn: () => void | Promise<void>) => void;

/**
 * Teardowns for fixtures shared by a whole file (`beforeAll`), where `onTestFinished` does not
 * apply: `close()` in `afterAll` runs them in reverse order.
 */
export function createScope() {
  const fns: (() => void | Promise<void>)[] = [];
  return {
    cleanup: ((fn) => {
      fns.push(fn);
    }) as Cleanup,
    async close() {
      for (const fn of fns.splice(0).reverse()) await fn();
    },
  };
}

/** A real mesh (hub + dispatcher + memory) in this process on an ephemeral loopback port. */
export async function startTestMesh(cleanup: Cleanup = onTestFinished): Promise<Mesh> {
  const dataDir = mkdtempSync(join(tmpdir(), "m3shd-mcp-e2e-"));
  const mesh = await startMesh({
    dataDir,
    port: 0,
    masterToken: MASTER,
    logger: pino({ level: process.env.M3SHD_TEST_LOG ?? "silent" }),
    dispatcher: {
      offlineAfterMs: 3000,
      sweepEveryMs: { heartbeats: 500, zombies: 1000, deadlines: 1000, reconcile: 500 },
    },
  });
  cleanup(async () => {
    await mesh.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  return mesh;
}

/** An operator client for setting the scene (tokens, approvals) — the same typed client the server uses. */
export function hubClient(mesh: Mesh, token = MASTER, headers: Record<string, string> = {}) {
  return createClient({ baseUrl: mesh.url, token, headers });
}

/** Mints an agent token with exactly `permissions`. */
export async function mintToken(mesh: Mesh, agentId: string, permissions: readonly Permission[]) {
  const res = await hubClient(mesh).request(mintTokenRoute, {
    body: { agent_id: agentId, permissions: [...permissions] },
  });
  return res.body as { token: string; agent_token: { id: string } };
}

const WORKER_ENTRY = join(dirname(fileURLToPath(import.meta.resolve("@m3shd/worker"))), "index.ts");
const TSX = pathToFileURL(require.resolve("tsx")).href;

/** A real `m3shd-worker` child process running the deterministic `jobs` provider. */
export function startJobsWorker(
  mesh: Mesh,
  id: string,
  capabilities: string[],
  cleanup: Cleanup = onTestFinished,
): ChildProcess {
  const spool = mkdtempSync(join(tmpdir(), `m3shd-mcp-spool-${id}-`));
  const child = spawn(
    process.execPath,
    [
      "--import",
      TSX,
      "--conditions=@m3shd/source",
      WORKER_ENTRY,
      "--hub",
      mesh.url,
      "--id",
      id,
      "--provider",
      "jobs",
      "--capabilities",
      capabilities.join(","),
      "--heartbeat",
      "300ms",
      "--poll-wait",
      "5s",
      "--spool-dir",
      join(spool, "spool"),
    ],
    {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: spool,
        M3SHD_TOKEN: MASTER,
        M3SHD_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "inherit"],
    },
  );
  cleanup(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(spool, { recursive: true, force: true });
  });
  return child;
}

/** Waits until the hub lists agent `id` as not offline. */
export async function agentOnline(mesh: Mesh, id: string): Promise<void> {
  const hub = hubClient(mesh);
  await until(
    async () => (await hub.agents.list()).body.agents.some((a) => a.id === id && a.status !== "offline"),
    30_000,
    `agent ${id} online`,
  );
}

/**
 * An agent the test drives through the hub's worker routes (claim, stream, fail, complete), as
 * apps/mesh/test/fencing.test.ts does: a real worker does not fail an attempt on demand, and a
 * retried attempt (its `seq` restarting at 0) is the scene under test.
 */
export async function manualAgent(mesh: Mesh, id: string, capabilities: string[]) {
  const hub = hubClient(mesh, MASTER, { "x-m3shd-agent": id });
  await hub.request(registerAgentRoute, { params: { id }, body: { capabilities, max_concurrent: 1 } });
  return {
    /** The next task the dispatcher assigns this agent, opening a new attempt. */
    async claim() {
      // A heartbeat first: the dispatcher assigns nothing to an agent it thinks is offline.
      await hub.request(heartbeatRoute, { params: { id }, body: { active_tasks: 0 } });
      const next = await hub.nextTask(id, { waitSeconds: 20 });
      if (!next) throw new Error(`${id}: nothing assigned within 20 s`);
      return next;
    },
    stream: (taskId: string, attempt: number, seq: number, content: string) =>
      hub.request(streamChunkRoute, { params: { id: taskId }, body: { content, attempt, seq } }),
    fail: (taskId: string, attempt: number, error: string) =>
      hub.request(completeTaskRoute, {
        params: { id: taskId },
        body: { status: "failed", error, attempt, retryable: true },
      }),
    complete: (taskId: string, attempt: number, output: string) =>
      hub.request(completeTaskRoute, { params: { id: taskId }, body: { status: "done", output, attempt } }),
  };
}

/** The built binary in `http` mode, in its own process, on an ephemeral port. */
export async function startHttpServer(mesh: Mesh, cleanup: Cleanup = onTestFinished) {
  assertBuilt();
  const child = spawn(process.execPath, [MCP_BINARY, "http"], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      M3SHD_HUB_URL: mesh.url,
      M3SHD_MCP_PORT: "0",
      M3SHD_MCP_POLL_MS: "50",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  cleanup(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  });
  const line = await until(
    () => stderr.split("\n").find((l) => l.includes("serving Streamable HTTP")),
    15_000,
    `the HTTP server to start (stderr: ${stderr})`,
  );
  const url = JSON.parse(line).url as string;
  return { url, origin: new URL(url).origin, child, stderr: () => stderr };
}

/** The SDK's `Client` over Streamable HTTP with a bearer token. */
export async function connectHttp(url: string, token: string, cleanup: Cleanup = onTestFinished) {
  const client = new Client({ name: "http-e2e", version: "0.0.0" });
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  cleanup(() => client.close());
  return client;
}

/** Polls until `fn` is truthy (for real state, not sleeps). */
export async function until<T>(
  fn: () => Promise<T> | T,
  ms = 15_000,
  what = "condition",
): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The SDK's `Client` over a real stdio child process of the built binary. */
export async function connectStdio(mesh: Mesh, token: string, extraEnv: Record<string, string> = {}) {
  assertBuilt();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MCP_BINARY],
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      M3SHD_HUB_URL: mesh.url,
      M3SHD_TOKEN: token,
      M3SHD_MCP_POLL_MS: "50",
      ...extraEnv,
    },
    stderr: "pipe",
  });
  let stderr = "";
  transport.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const client = new Client({ name: "m3shd-e2e", version: "0.0.0" });
  await client.connect(transport);
  onTestFinished(() => client.close());
  return { client, transport, stderr: () => stderr };
}

/** Runs the built binary to its exit (stdin closed); answers its exit code and stderr. */
export function runBinary(args: string[], env: Record<string, string>) {
  assertBuilt();
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [MCP_BINARY, ...args], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      stdio: ["pipe", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdin?.end();
    child.on("exit", (code) => resolve({ code, stderr }));
  });
}

/** A successful tool result's structured content (fails the test on a tool error). */
export function ok<T = Record<string, unknown>>(result: unknown): T {
  const parsed = CallToolResultSchema.parse(result) as CallToolResult;
  expect(parsed.isError ?? false, JSON.stringify(parsed.content)).toBe(false);
  return parsed.structuredContent as T;
}

/** A tool error's text and protocol code (fails the test on a success). */
export function toolError(result: unknown) {
  const parsed = CallToolResultSchema.parse(result) as CallToolResult;
  expect(parsed.isError).toBe(true);
  return {
    text: parsed.content.map((c) => (c.type === "text" ? c.text : "")).join(""),
    code: (parsed._meta?.[ERROR_META_KEY] as { code?: string } | undefined)?.code,
  };
}

/** Calls a tool and answers its structured content. */
export const call = async <T = Record<string, unknown>>(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
) => ok<T>(await client.callTool({ name, arguments: args }));
