import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createClient } from "@m3shd/client";
import { type Mesh, startMesh } from "@m3shd/mesh";
import { mintTokenRoute, type Permission } from "@m3shd/protocol";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { pino } from "pino";
import { onTestFinished } from "vitest";

export const MASTER = "mcp-e2e-master-token-not-a-secret-000000";
const require = createRequire(import.meta.url);

/** The BUILT binary (`pnpm turbo run build --filter=@m3shd/mcp`): what users run. */
export const MCP_BINARY = fileURLToPath(new URL("../../dist/index.js", import.meta.url));

export function assertBuilt(): void {
  if (!existsSync(MCP_BINARY)) {
    throw new Error(`${MCP_BINARY} is missing: run \`pnpm turbo run build --filter=@m3shd/mcp\` first`);
  }
}

/** A real mesh (hub + dispatcher + memory) in this process on an ephemeral loopback port. */
export async function startTestMesh(): Promise<Mesh> {
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
  onTestFinished(async () => {
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
export function startJobsWorker(mesh: Mesh, id: string, capabilities: string[]): ChildProcess {
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
  onTestFinished(async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(spool, { recursive: true, force: true });
  });
  return child;
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
