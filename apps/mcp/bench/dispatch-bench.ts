/**
 * `mcp.dispatch_to_done_ms`: p50 (and p90) of one deterministic job through the MCP server over
 * stdio — `dispatch_task` then `await_task` until `finished` — against a real mesh (hub +
 * dispatcher in this process) and a real `m3shd-worker` child running the jobs provider. The MCP
 * server is a child process on stdio, started from source like the other bench children. Prints
 * progress on stderr and ONE JSON line on stdout (merged by apps/mesh/bench/run.ts).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createClient } from "@m3shd/client";
import { startMesh } from "@m3shd/mesh";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { pino } from "pino";

const ROUNDS = Number(process.env.M3SHD_BENCH_MCP_ROUNDS ?? 40);
const MASTER = `bench-mcp-${process.pid}-0123456789abcdef0123456789`;
const require = createRequire(import.meta.url);
const TSX = pathToFileURL(require.resolve("tsx")).href;
const here = dirname(fileURLToPath(import.meta.url));
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

const dataDir = mkdtempSync(join(tmpdir(), "m3shd-bench-mcp-"));
const mesh = await startMesh({ dataDir, port: 0, masterToken: MASTER, logger: pino({ level: "warn" }) });
const worker = spawn(
  process.execPath,
  [
    "--import",
    TSX,
    "--conditions=@m3shd/source",
    join(dirname(fileURLToPath(import.meta.resolve("@m3shd/worker"))), "index.ts"),
    "--hub",
    mesh.url,
    "--id",
    "bench-jobs",
    "--provider",
    "jobs",
    "--capabilities",
    "echo",
    "--spool-dir",
    join(dataDir, "spool"),
  ],
  {
    env: { PATH: process.env.PATH, HOME: dataDir, M3SHD_TOKEN: MASTER, M3SHD_LOG_LEVEL: "warn" },
    stdio: "ignore",
  },
);
const hub = createClient({ baseUrl: mesh.url, token: MASTER });
for (let i = 0; ; i++) {
  const { agents } = (await hub.agents.list()).body;
  if (agents.some((a) => a.id === "bench-jobs" && a.status !== "offline")) break;
  if (i > 400) throw new Error("bench worker never came online");
  await new Promise((resolve) => setTimeout(resolve, 50));
}

const transport = new StdioClientTransport({
  command: process.execPath,
  args: ["--import", TSX, "--conditions=@m3shd/source", join(here, "../src/index.ts")],
  env: {
    PATH: process.env.PATH ?? "",
    M3SHD_HUB_URL: mesh.url,
    M3SHD_TOKEN: MASTER,
    M3SHD_MCP_POLL_MS: "20",
  },
  stderr: "ignore",
});
const client = new Client({ name: "m3shd-bench", version: "0" });
await client.connect(transport);

log(`mcp: ${ROUNDS} echo jobs, dispatch_task → await_task through stdio…`);
const samples: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const started = performance.now();
  const dispatched = await client.callTool({
    name: "dispatch_task",
    arguments: { title: `bench ${i}`, prompt: `bench ${i}`, capability: "echo" },
  });
  const taskId = (dispatched.structuredContent as { task_id: string }).task_id;
  const done = await client.callTool({ name: "await_task", arguments: { task_id: taskId, timeout_s: 30 } });
  if ((done.structuredContent as { state?: string }).state !== "finished")
    throw new Error(`task ${taskId} did not finish`);
  samples.push(performance.now() - started);
}
samples.sort((a, b) => a - b);
const at = (p: number) =>
  Math.round((samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))] ?? 0) * 10) / 10;

await client.close();
worker.kill("SIGTERM");
await new Promise((resolve) => worker.once("exit", resolve));
await mesh.close();
rmSync(dataDir, { recursive: true, force: true });
process.stdout.write(
  `${JSON.stringify({ "mcp.dispatch_to_done_ms": at(50), "mcp.dispatch_to_done_p90_ms": at(90) })}\n`,
);
process.exit(0);
