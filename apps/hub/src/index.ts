import { randomBytes } from "node:crypto";
import { join, resolve } from "node:path";
import { openDatabase } from "@m3shd/db";
import { createHttpMemoryClient } from "@m3shd/memory";
import { createQueueRuntime } from "@m3shd/queue";
import { loadOrCreateSecret, onShutdown } from "@m3shd/service-kit";
import { pino } from "pino";
import { createHub } from "./app";
import { contributionFromEnv, DEFAULT_HUB_CONFIG } from "./context";
import { defaultDashboardDir } from "./dashboard-dir";
import { interpreterFromEnv, parseHubEnv } from "./env";
import { pluginsFromEnv } from "./plugins/config";
import { loadHubSecrets } from "./secrets";
import { serveHub } from "./server";
import { workflowsFromEnv } from "./services/workflow-config";

/**
 * Standalone hub process (split deployment): HTTP API + SSE against the shared SQLite file and
 * Redis. Run the dispatcher next to it (`pnpm --filter @m3shd/dispatcher start`) with the same
 * REDIS_URL, prefix and data volume. For everything in one process use `pnpm start` at the root.
 */
async function main() {
  const env = parseHubEnv();
  const logger = pino({ level: env.M3SHD_LOG_LEVEL, base: { service: "hub" } });
  if (!env.REDIS_URL) {
    logger.warn(
      "REDIS_URL is not set: this hub runs with in-process queues and no dispatcher. Use `pnpm start` for the embedded mesh.",
    );
  }
  const dataDir = resolve(env.M3SHD_DATA_DIR);
  const secrets = loadHubSecrets(dataDir, env);
  const database = openDatabase({ path: env.M3SHD_DB_PATH ?? join(dataDir, "m3shd.db") });
  const queue = await createQueueRuntime({
    redisUrl: env.REDIS_URL,
    prefix: env.M3SHD_REDIS_PREFIX,
    onError: (err) => logger.error({ err }, "queue error"),
  });
  // Split deployment: the memory service over HTTP (recall at pickup, the memory API forwarded).
  const memory = env.M3SHD_MEMORY_URL
    ? {
        client: createHttpMemoryClient({
          baseUrl: env.M3SHD_MEMORY_URL,
          serviceToken:
            env.M3SHD_MEMORY_SERVICE_TOKEN ??
            loadOrCreateSecret(
              join(dataDir, "memory-service-token"),
              () => `m3shd_mem_${randomBytes(32).toString("base64url")}`,
            ).value,
          logger: logger.child({ component: "memory-client" }),
        }),
        topK: 5,
        charBudget: 2000,
      }
    : undefined;
  const hub = createHub({
    ...(memory ? { memory } : {}),
    database,
    queue,
    logger,
    now: Date.now,
    startedAt: Date.now(),
    config: {
      ...DEFAULT_HUB_CONFIG,
      masterToken: secrets.masterToken,
      provenanceKey: secrets.provenanceKey,
      secretsKey: secrets.secretsKey,
      interpreter: interpreterFromEnv(env),
      sse: {
        replayCapacity: env.M3SHD_SSE_REPLAY,
        queueLimit: env.M3SHD_SSE_QUEUE_LIMIT,
        keepaliveMs: env.M3SHD_SSE_KEEPALIVE_S * 1000,
      },
      behindTls: env.M3SHD_BEHIND_TLS,
      dataDir,
      redisUrl: env.REDIS_URL,
      redisPrefix: env.M3SHD_REDIS_PREFIX,
      trustProxy: env.M3SHD_TRUST_PROXY,
      auditRetentionDays: env.M3SHD_AUDIT_RETENTION_DAYS,
      workflows: workflowsFromEnv(env),
      contribution: contributionFromEnv(env),
      dashboard: { dir: env.M3SHD_DASHBOARD_DIR ?? defaultDashboardDir(), demo: env.M3SHD_DEMO ?? false },
      plugins: pluginsFromEnv(env),
    },
  });
  const { seedAdminPasswordFile } = await hub.ready;
  const served = await serveHub(hub, { host: env.M3SHD_HOST, port: env.M3SHD_PORT });
  logger.info(
    {
      url: served.url,
      queue: queue.driver.kind,
      memory: memory ? env.M3SHD_MEMORY_URL : "off",
      masterTokenFile: secrets.masterTokenFile ?? "(from M3SHD_MASTER_TOKEN)",
      ...(seedAdminPasswordFile ? { seedAdminPasswordFile } : {}),
    },
    "hub listening",
  );

  onShutdown(logger, async () => {
    await served.close();
    await queue.close();
    database.close();
  });
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
