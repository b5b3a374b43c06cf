#!/usr/bin/env node
// `pnpm start`: build the mesh and the worker (cached by Turborepo after the first run), run the
// all-in-one mesh with plain node, then join one local `jobs` worker so a fresh install does real
// work out of the box (deterministic jobs need no model or key). Signals pass through to both.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { mintLocalWorkerToken } from "./local-worker-token.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
process.stdout.write("Building the mesh (first run takes a minute; later runs are cached)…\n");
const build = spawnSync(
  "pnpm",
  [
    "turbo",
    "run",
    "build",
    "--filter=@m3shd/mesh...",
    "--filter=@m3shd/worker...",
    "--filter=@m3shd/dashboard",
    "--output-logs=errors-only",
  ],
  {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  },
);
if (build.status !== 0) {
  process.stderr.write("Build failed; run `pnpm build` to see why.\n");
  process.exit(build.status ?? 1);
}

const children = [];
const mesh = spawn(process.execPath, [join(root, "apps/mesh/dist/index.js")], {
  cwd: root,
  stdio: "inherit",
});
children.push(mesh);
let stopping = false;
const stop = (signal) => {
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill(signal);
};
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => stop(signal));
mesh.on("exit", (code, signal) => {
  stop("SIGTERM");
  process.exit(code ?? (signal ? 1 : 0));
});

// The local worker: set M3SHD_LOCAL_WORKER=0 to run the mesh alone.
if (process.env.M3SHD_LOCAL_WORKER !== "0") {
  const host = process.env.M3SHD_HOST ?? "127.0.0.1";
  const port = process.env.M3SHD_PORT ?? "7700";
  const hub = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const dataDir = resolve(root, process.env.M3SHD_DATA_DIR ?? "data");
  const ready = async () => {
    for (let i = 0; i < 300 && !stopping; i++) {
      try {
        if ((await fetch(`${hub}/api/health`)).ok) return true;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };
  if (await ready()) {
    const tokenFile = join(dataDir, "master-token");
    const master =
      process.env.M3SHD_MASTER_TOKEN ?? (existsSync(tokenFile) ? readFileSync(tokenFile, "utf8").trim() : "");
    const agentId = process.env.M3SHD_LOCAL_WORKER_ID ?? "local-jobs";
    // A scoped agent token (worker role, bound to the jobs' capabilities), not the master token.
    const token = await mintLocalWorkerToken(hub, master, agentId);
    // The token travels in the environment, never on the command line (visible in `ps`).
    const worker = spawn(process.execPath, [join(root, "apps/worker/dist/index.js")], {
      cwd: root,
      stdio: "inherit",
      env: {
        ...withoutMasterToken(process.env),
        M3SHD_HUB: hub,
        M3SHD_TOKEN: token,
        M3SHD_AGENT_ID: agentId,
        M3SHD_PROVIDER: "jobs",
        M3SHD_SLOTS: process.env.M3SHD_LOCAL_WORKER_SLOTS ?? "4",
        M3SHD_SPOOL_DIR: join(dataDir, "local-worker-spool"),
        M3SHD_LOG_LEVEL: process.env.M3SHD_LOCAL_WORKER_LOG_LEVEL ?? "warn",
      },
    });
    children.push(worker);
    worker.on("exit", (code) => {
      if (!stopping) process.stderr.write(`local jobs worker exited (${code}); the mesh keeps running\n`);
    });
    process.stdout.write(
      "  local worker: local-jobs (deterministic jobs: echo, text_stats, keyword_extract, text_chunk, text_embed)\n\n",
    );
  }
}

/** The environment minus the master token: the worker gets its own scoped token only. */
function withoutMasterToken(env) {
  const { M3SHD_MASTER_TOKEN: _master, ...rest } = env;
  return rest;
}
