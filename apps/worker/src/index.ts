#!/usr/bin/env node
import { parseArgs } from "node:util";
import { ConfigError, loadWorkerConfig, usage } from "./config";
import { defaultIdentityPath, initIdentity } from "./identity";
import { startWorker, WORKER_VERSION } from "./worker";

/**
 * `m3shd-worker`: joins this machine to a mesh. Exit codes: 0 after a clean stop, 1 on an
 * unexpected error, 2 on bad configuration or when the hub refuses the token.
 */
/**
 * `m3shd-worker init [--id NAME] [--identity PATH] [--force] [--json]`: creates the node's Ed25519
 * identity (mode 0600, default `$M3SHD_HOME/identity.json`, `M3SHD_HOME` default `~/.m3shd`).
 * Keeps an existing identity unless `--force`.
 */
function init(argv: string[]): number {
  let values: { id?: string; identity?: string; force?: boolean; json?: boolean; help?: boolean };
  try {
    values = parseArgs({
      args: argv,
      options: {
        id: { type: "string" },
        identity: { type: "string" },
        force: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`m3shd-worker init: ${(err as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(
      "Usage: m3shd-worker init [--id NAME] [--identity PATH] [--force] [--json]\n\n" +
        "Creates this node's Ed25519 identity (mode 0600) at PATH, default $M3SHD_HOME/identity.json\n" +
        "(M3SHD_HOME defaults to ~/.m3shd). The hub binds its public key to the agent at the first\n" +
        "registration; every result is then signed with it. An existing identity is kept unless --force.\n",
    );
    return 0;
  }
  const path = values.identity ?? process.env.M3SHD_IDENTITY ?? defaultIdentityPath();
  const { created, identity } = initIdentity(path, {
    nodeId: values.id ?? process.env.M3SHD_AGENT_ID ?? null,
    force: values.force === true,
  });
  const summary = {
    created,
    path,
    key_id: identity.key_id,
    public_key: identity.public_key,
    node_id: identity.node_id,
  };
  process.stdout.write(
    values.json
      ? `${JSON.stringify(summary)}\n`
      : `${created ? "created" : "kept existing"} identity ${identity.key_id} at ${path}\npublic key: ${identity.public_key}\n`,
  );
  return 0;
}

async function main(): Promise<number> {
  if (process.argv[2] === "init") return init(process.argv.slice(3));
  let loaded: ReturnType<typeof loadWorkerConfig>;
  try {
    loaded = loadWorkerConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`m3shd-worker: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (loaded.kind === "help") {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  if (loaded.kind === "version") {
    process.stdout.write(`m3shd-worker ${WORKER_VERSION}\n`);
    return 0;
  }

  const worker = await startWorker(loaded.config);
  // First SIGINT/SIGTERM: graceful (finish within the grace period, hand off the rest). Second:
  // hand off now. Third: leave at once; the hub requeues whatever was still running.
  let signals = 0;
  let lastSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // One signal can arrive twice at once (sent to the process and to its group, as `timeout`
    // does); only a signal that comes later is a second request.
    if (Date.now() - lastSignalAt < 250) return;
    lastSignalAt = Date.now();
    signals++;
    if (signals === 1) void worker.stop();
    else if (signals === 2) void worker.stop({ graceMs: 0 });
    else process.exit(130);
    process.stderr.write(
      `m3shd-worker: ${signal} received${signals === 1 ? ", stopping gracefully" : ", handing off now"}\n`,
    );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    await worker.done;
    return 0;
  } catch {
    return 2; // already logged: the hub refused this worker
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `m3shd-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
