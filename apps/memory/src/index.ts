import type { AddressInfo } from "node:net";
import { join, resolve } from "node:path";
import { serve } from "@hono/node-server";
import { JOB_NAMES } from "@m3shd/protocol";
import { createQueueRuntime } from "@m3shd/queue";
import {
  createMetricsRegistry,
  type MetricsServer,
  onShutdown,
  registerQueueMetrics,
  serveMetrics,
} from "@m3shd/service-kit";
import { pino } from "pino";
import { createMemoryApp } from "./app";
import { runKeyCommand } from "./cli";
import { parseMemoryEnv } from "./env";
import { loadMemorySecrets } from "./secrets";
import { createMemoryService } from "./service";
import { startMemoryWorkers } from "./workers";

/**
 * Standalone memory process (split deployment): the memory API for the hub, the `memory.extract`
 * and `memory.consolidate` consumers, and key-management commands (`kek …`). In the embedded mode
 * the all-in-one process uses the library (`@m3shd/memory`) instead.
 */
async function main() {
  const env = parseMemoryEnv();
  const logger = pino({ level: env.M3SHD_LOG_LEVEL, base: { service: "memory" } });
  const args = process.argv.slice(2);
  if (args.length > 0 && args[0] !== "serve") {
    const code = await runKeyCommand(args, env, {
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
      logger,
    });
    process.exit(code);
  }

  const dataDir = resolve(env.M3SHD_DATA_DIR);
  const secrets = loadMemorySecrets(dataDir, env);
  if (secrets.generatedRecoveryPrivateKeyFile) {
    logger.warn(
      { file: secrets.generatedRecoveryPrivateKeyFile },
      "generated the memory recovery key: move this file OFFLINE now (it must not stay on this server)",
    );
  }
  const service = createMemoryService({
    dbPath: env.M3SHD_MEMORY_DB_PATH ?? join(dataDir, "memory.db"),
    kek: secrets.kek,
    recoveryPublicKey: secrets.recoveryPublicKey,
    logger,
    searchDocFrequencyBudget: env.M3SHD_MEMORY_SEARCH_DF_BUDGET,
  });
  if (!env.REDIS_URL) {
    logger.warn(
      "REDIS_URL is not set: no hub can reach this process's queue. Use the all-in-one `pnpm start` instead.",
    );
  }
  const queue = await createQueueRuntime({
    redisUrl: env.REDIS_URL,
    prefix: env.M3SHD_REDIS_PREFIX,
    onError: (err) => logger.error({ err }, "queue error"),
    onJobFailed: (name, jobId, err) => logger.warn({ name, jobId, err }, "job failed for good"),
  });
  await startMemoryWorkers(queue, service, {
    consolidateEveryMs: env.M3SHD_MEMORY_CONSOLIDATE_EVERY_S * 1000,
    logger,
  });
  const metrics = env.M3SHD_MEMORY_METRICS_PORT === undefined ? undefined : createMetricsRegistry();
  if (metrics) registerQueueMetrics(metrics, queue, JOB_NAMES);
  const app = createMemoryApp({
    service,
    serviceToken: secrets.serviceToken,
    logger,
    ...(metrics ? { metrics } : {}),
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolveServer, reject) => {
    const s = serve({ fetch: app.fetch, hostname: env.M3SHD_MEMORY_HOST, port: env.M3SHD_MEMORY_PORT }, () =>
      resolveServer(s),
    );
    s.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  let metricsServer: MetricsServer | null = null;
  if (metrics && env.M3SHD_MEMORY_METRICS_PORT !== undefined) {
    metricsServer = await serveMetrics({
      registry: metrics,
      host: env.M3SHD_MEMORY_METRICS_HOST,
      port: env.M3SHD_MEMORY_METRICS_PORT,
      onError: (err) => logger.error({ err }, "metrics request failed"),
    });
    logger.info({ port: metricsServer.port }, "memory metrics listening");
  }
  logger.info(
    {
      url: `http://${env.M3SHD_MEMORY_HOST}:${port}`,
      queue: queue.driver.kind,
      primaryKekId: service.keyStatus().primaryKekId,
      serviceTokenFile: secrets.serviceTokenFile ?? "(from M3SHD_MEMORY_SERVICE_TOKEN)",
    },
    "memory service listening",
  );

  onShutdown(logger, async () => {
    await metricsServer?.close();
    await new Promise<void>((done) => {
      const timer = setTimeout(done, 5000);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        done();
      });
    });
    await queue.close();
    service.close();
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
