import { dispatcherConfigFromEnv, parseDispatcherEnv } from "@m3shd/dispatcher";
import {
  contributionFromEnv,
  defaultDashboardDir,
  interpreterFromEnv,
  parseHubEnv,
  pluginsFromEnv,
  workflowsFromEnv,
} from "@m3shd/hub";
import { onShutdown } from "@m3shd/service-kit";
import { pino } from "pino";
import { startMesh } from "./mesh";

/**
 * `pnpm start`: the whole mesh in one process on the embedded default — SQLite under ./data,
 * in-process queues unless REDIS_URL is set. Prints where to reach it and where the master token
 * was written (the token itself is never logged).
 */
async function main() {
  const hubEnv = parseHubEnv();
  const dispatcherEnv = parseDispatcherEnv();
  const logger = pino({ level: hubEnv.M3SHD_LOG_LEVEL, base: { service: "mesh" } });
  const mesh = await startMesh({
    dataDir: hubEnv.M3SHD_DATA_DIR,
    ...(hubEnv.M3SHD_DB_PATH ? { dbPath: hubEnv.M3SHD_DB_PATH } : {}),
    host: hubEnv.M3SHD_HOST,
    port: hubEnv.M3SHD_PORT,
    redisUrl: hubEnv.REDIS_URL,
    redisPrefix: hubEnv.M3SHD_REDIS_PREFIX,
    masterToken: hubEnv.M3SHD_MASTER_TOKEN,
    provenanceKeyHex: hubEnv.M3SHD_PROVENANCE_KEY,
    secretsKeyHex: hubEnv.M3SHD_SECRETS_KEY,
    logger,
    hub: {
      sse: {
        replayCapacity: hubEnv.M3SHD_SSE_REPLAY,
        queueLimit: hubEnv.M3SHD_SSE_QUEUE_LIMIT,
        keepaliveMs: hubEnv.M3SHD_SSE_KEEPALIVE_S * 1000,
      },
      behindTls: hubEnv.M3SHD_BEHIND_TLS,
      // Client IPs (login throttling, audit) from X-Forwarded-For only when told to, as the
      // standalone hub does: `pnpm start` once ignored this variable.
      trustProxy: hubEnv.M3SHD_TRUST_PROXY,
      auditRetentionDays: hubEnv.M3SHD_AUDIT_RETENTION_DAYS,
      workflows: workflowsFromEnv(hubEnv),
      interpreter: interpreterFromEnv(hubEnv),
      contribution: contributionFromEnv(hubEnv),
      dashboard: {
        dir: hubEnv.M3SHD_DASHBOARD_DIR ?? defaultDashboardDir(),
        demo: hubEnv.M3SHD_DEMO ?? false,
      },
      plugins: pluginsFromEnv(hubEnv),
    },
    // The lifecycle settings come from the same env fragment as the hub's, so they agree.
    dispatcher: dispatcherConfigFromEnv(dispatcherEnv),
  });
  const tokenSource = mesh.masterTokenFile
    ? `written to ${mesh.masterTokenFile} (mode 0600)`
    : "from M3SHD_MASTER_TOKEN";
  process.stdout.write(
    [
      "",
      `  M3SHD mesh is up at ${mesh.url}`,
      `  queues: ${mesh.queue.driver.kind}${hubEnv.REDIS_URL ? "" : " (in-process; set REDIS_URL for Redis)"}`,
      `  dashboard: ${mesh.url}/`,
      `  master token: ${tokenSource}`,
      ...(mesh.seedAdminPasswordFile
        ? [
            `  dashboard admin: user "admin", password written once to ${mesh.seedAdminPasswordFile} (mode 0600)`,
          ]
        : []),
      `  try: curl -H "Authorization: Bearer $(cat ${mesh.masterTokenFile ?? "<token file>"})" ${mesh.url}/api/agents`,
      "",
    ].join("\n"),
  );

  onShutdown(logger, () => mesh.close());
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
