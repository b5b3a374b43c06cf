#!/usr/bin/env node
import { ConfigError, loadWorkerConfig, usage } from "./config";
import { startWorker, WORKER_VERSION } from "./worker";

/**
 * `m3shd-worker`: joins this machine to a mesh. Exit codes: 0 after a clean stop, 1 on an
 * unexpected error, 2 on bad configuration or when the hub refuses the token.
 */
async function main(): Promise<number> {
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
