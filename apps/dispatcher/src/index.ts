import { join, resolve } from "node:path";
import { openDatabase } from "@m3shd/db";
import { JOB_NAMES } from "@m3shd/protocol";
import { createQueueRuntime } from "@m3shd/queue";
import { createMetricsRegistry, onShutdown, registerQueueMetrics, serveMetrics } from "@m3shd/service-kit";
import { pino } from "pino";
import { createDispatcher } from "./dispatcher";
import { dispatcherConfigFromEnv, parseDispatcherEnv } from "./env";

/**
 * Standalone dispatcher (split deployment): consumes `dispatch.*` jobs from Redis and assigns
 * against the shared SQLite file. Needs REDIS_URL: with in-process queues it would never see the
 * hub's jobs.
 */
async function main() {
  const env = parseDispatcherEnv();
  const logger = pino({ level: env.M3SHD_LOG_LEVEL, base: { service: "dispatcher" } });
  if (!env.REDIS_URL) {
    throw new Error(
      "REDIS_URL is required to run the dispatcher alone; use `pnpm start` for the embedded mesh",
    );
  }
  const database = openDatabase({ path: env.M3SHD_DB_PATH ?? join(resolve(env.M3SHD_DATA_DIR), "m3shd.db") });
  const queue = await createQueueRuntime({
    redisUrl: env.REDIS_URL,
    prefix: env.M3SHD_REDIS_PREFIX,
    onError: (err) => logger.error({ err }, "queue error"),
  });
  const metrics = createMetricsRegistry();
  registerQueueMetrics(metrics, queue, JOB_NAMES);
  const dispatcher = createDispatcher({
    database,
    queue,
    logger,
    now: Date.now,
    config: dispatcherConfigFromEnv(env),
    metrics,
  });
  await dispatcher.start();
  logger.info({ queue: queue.driver.kind }, "dispatcher running");

  // Health and metrics for the orchestrator and Prometheus, on a port of their own (the
  // dispatcher has no API). The sweeps' records are in SQLite, so health answers the truth even
  // right after a Redis flush.
  const served =
    env.M3SHD_HEALTH_PORT === undefined
      ? null
      : await serveMetrics({
          registry: metrics,
          host: env.M3SHD_HEALTH_HOST,
          port: env.M3SHD_HEALTH_PORT,
          health: async () => {
            const report = dispatcher.health();
            const redis = await queue.driver.ping();
            const ok = report.status === "ok" && redis !== "down";
            return { ok, body: { status: ok ? "ok" : "degraded", redis, sweepers: report.sweepers } };
          },
          onError: (err) => logger.error({ err }, "health request failed"),
        });
  if (served) logger.info({ port: served.port }, "dispatcher health and metrics listening");

  onShutdown(logger, async () => {
    await served?.close();
    await dispatcher.stop();
    await queue.close();
    database.close();
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
