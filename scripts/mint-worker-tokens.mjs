#!/usr/bin/env node
// The `worker-tokens` step of infra/compose.yml (a one-shot service on the hub image): mints one
// agent token per worker with the master token — worker role, bound to the deterministic jobs —
// and writes each to <out>/<agent-id> (0600), where that worker reads it (M3SHD_TOKEN_FILE). The
// workers never see the master token. Re-running revokes the previous run's tokens for the same
// agents (as `pnpm start` does for its local worker), so restarts do not pile up credentials.
//
//   M3SHD_HUB_URL=http://hub:7700 M3SHD_MASTER_TOKEN_FILE=/run/secrets/master_token \
//     node mint-worker-tokens.mjs --out /var/lib/m3shd-tokens jobs-1 jobs-2
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { mintLocalWorkerToken } from "./local-worker-token.mjs";

const { values, positionals: agents } = parseArgs({
  allowPositionals: true,
  options: { out: { type: "string" }, wait: { type: "string" } },
});
const hub = (process.env.M3SHD_HUB_URL ?? "http://127.0.0.1:7700").replace(/\/+$/, "");
const tokenFile = process.env.M3SHD_MASTER_TOKEN_FILE;
const master = tokenFile
  ? readFileSync(tokenFile, "utf8").split("\n")[0].trim()
  : process.env.M3SHD_MASTER_TOKEN;
const log = (msg, extra = {}) =>
  process.stdout.write(
    `${JSON.stringify({ level: 30, time: Date.now(), service: "worker-tokens", msg, ...extra })}\n`,
  );

if (!values.out || agents.length === 0 || !master) {
  process.stderr.write("usage: M3SHD_MASTER_TOKEN_FILE=… node mint-worker-tokens.mjs --out DIR AGENT_ID…\n");
  process.exit(2);
}
// The hub may still be starting (compose orders by health, a plain restart does not): wait for it.
const deadline = Date.now() + Number(values.wait ?? 60) * 1000;
for (;;) {
  try {
    const res = await fetch(`${hub}/api/health`, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    if (res.ok) break;
  } catch {
    // not up yet
  }
  if (Date.now() > deadline) {
    process.stderr.write(`worker-tokens: the hub at ${hub} did not answer\n`);
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
}
mkdirSync(values.out, { recursive: true, mode: 0o700 });
for (const agent of agents) {
  const token = await mintLocalWorkerToken(hub, master, agent);
  const path = join(values.out, agent);
  writeFileSync(`${path}.tmp`, `${token}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
  log("worker token written", { agent, file: path });
}
