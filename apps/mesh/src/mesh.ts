import { join, resolve } from "node:path";
import { openDatabase } from "@m3shd/db";
import {
  createDispatcher,
  DEFAULT_DISPATCHER_CONFIG,
  type Dispatcher,
  type DispatcherConfig,
} from "@m3shd/dispatcher";
import {
  createHub,
  DEFAULT_HUB_CONFIG,
  type Hub,
  type HubConfig,
  loadHubSecrets,
  type MemorySettings,
  serveHub,
} from "@m3shd/hub";
import {
  createInProcessMemoryClient,
  createMemoryService,
  loadMemorySecrets,
  MEMORY_FILE_SECRETS,
  type MemoryService,
  startMemoryWorkers,
} from "@m3shd/memory";
import { createQueueRuntime, type QueueRuntime } from "@m3shd/queue";
import { createMetricsRegistry, secretsFromFiles } from "@m3shd/service-kit";
import { type Logger, pino } from "pino";

export interface MeshOptions {
  /** Directory for the SQLite file and generated secrets. */
  dataDir: string;
  /** Agent memory in this process (default on): `<dataDir>/memory.db`, keys under `dataDir`. */
  memory?: { enabled?: boolean; topK?: number; charBudget?: number; consolidateEveryMs?: number } | undefined;
  /** SQLite file (default `<dataDir>/m3shd.db`). */
  dbPath?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Redis URL; unset runs in-process queues. */
  redisUrl?: string | undefined;
  redisPrefix?: string;
  masterToken?: string | undefined;
  provenanceKeyHex?: string | undefined;
  /** Hex key sealing readable secrets (default `<dataDir>/secrets.key`). */
  secretsKeyHex?: string | undefined;
  logger?: Logger;
  now?: () => number;
  hub?: Partial<Omit<HubConfig, "masterToken" | "provenanceKey">>;
  dispatcher?: Partial<DispatcherConfig>;
}

export interface Mesh {
  url: string;
  masterToken: string;
  /** Where a generated master token was written (null when it came from the environment). */
  masterTokenFile: string | null;
  /** Where the seed admin's generated password was written on this first run (null otherwise). */
  seedAdminPasswordFile: string | null;
  hub: Hub;
  dispatcher: Dispatcher;
  queue: QueueRuntime;
  close(): Promise<void>;
}

/**
 * Hub and dispatcher in one process sharing one SQLite connection and one queue runtime: the
 * embedded default of `pnpm start`, and what integration tests and the benchmark start. With a
 * Redis URL the same process uses BullMQ and Redis pub/sub, exactly as split processes would.
 */
export async function startMesh(options: MeshOptions): Promise<Mesh> {
  const logger = options.logger ?? pino({ level: "info", base: { service: "mesh" } });
  const now = options.now ?? Date.now;
  const dataDir = resolve(options.dataDir);
  const secrets = loadHubSecrets(dataDir, {
    M3SHD_MASTER_TOKEN: options.masterToken,
    M3SHD_PROVENANCE_KEY: options.provenanceKeyHex,
    M3SHD_SECRETS_KEY: options.secretsKeyHex,
  });
  const database = openDatabase({ path: options.dbPath ?? join(dataDir, "m3shd.db") });
  let queue: QueueRuntime;
  try {
    queue = await createQueueRuntime({
      redisUrl: options.redisUrl,
      prefix: options.redisPrefix ?? "m3shd",
      onError: (err) => logger.error({ err }, "queue error"),
      onJobFailed: (name, jobId, err) => logger.warn({ name, jobId, err }, "job failed for good"),
    });
  } catch (err) {
    database.close();
    throw err;
  }
  // Agent memory runs in this process: its own encrypted database, fed by the memory.extract
  // queue, asked by the hub at pickup. Keys are generated on first run (0600 files in dataDir).
  let memory: MemoryService | null = null;
  let memorySettings: MemorySettings | undefined;
  if (options.memory?.enabled !== false) {
    const memorySecrets = loadMemorySecrets(dataDir, secretsFromFiles(process.env, MEMORY_FILE_SECRETS));
    if (memorySecrets.generatedRecoveryPrivateKeyFile) {
      logger.warn(
        { file: memorySecrets.generatedRecoveryPrivateKeyFile },
        "memory recovery private key generated: move this file offline (see docs/memory.md)",
      );
    }
    memory = createMemoryService({
      dbPath: join(dataDir, "memory.db"),
      kek: memorySecrets.kek,
      recoveryPublicKey: memorySecrets.recoveryPublicKey,
      logger: logger.child({ service: "memory" }),
      now,
    });
    await startMemoryWorkers(queue, memory, {
      logger: logger.child({ service: "memory" }),
      ...(options.memory?.consolidateEveryMs
        ? { consolidateEveryMs: options.memory.consolidateEveryMs }
        : {}),
    });
    memorySettings = {
      client: createInProcessMemoryClient(memory, { logger: logger.child({ service: "memory" }) }),
      topK: options.memory?.topK ?? 5,
      charBudget: options.memory?.charBudget ?? 2000,
    };
  }
  // One registry for the process: the hub serves it at /metrics, the dispatcher adds its series.
  const metrics = createMetricsRegistry();
  const hub = createHub({
    ...(memorySettings ? { memory: memorySettings } : {}),
    metrics,
    database,
    queue,
    logger: logger.child({ service: "hub" }),
    now,
    startedAt: now(),
    config: {
      ...DEFAULT_HUB_CONFIG,
      dataDir,
      redisUrl: options.redisUrl,
      redisPrefix: options.redisPrefix ?? "m3shd",
      ...options.hub,
      masterToken: secrets.masterToken,
      provenanceKey: secrets.provenanceKey,
      secretsKey: secrets.secretsKey,
    },
  });
  const { seedAdminPasswordFile } = await hub.ready;
  const workflows = options.hub?.workflows;
  const dispatcher = createDispatcher({
    database,
    queue,
    logger: logger.child({ service: "dispatcher" }),
    now,
    metrics,
    config: {
      ...DEFAULT_DISPATCHER_CONFIG,
      // One mesh, one budget and DAG policy: the dispatcher follows the hub's workflows config.
      ...(workflows?.dag ? { dag: { ...DEFAULT_DISPATCHER_CONFIG.dag, ...workflows.dag } } : {}),
      ...(workflows?.dailyTokenCap !== undefined ? { dailyTokenCap: workflows.dailyTokenCap } : {}),
      ...options.dispatcher,
    },
  });
  await dispatcher.start();
  const served = await serveHub(hub, { host: options.host ?? "127.0.0.1", port: options.port ?? 7700 });
  let closed = false;
  return {
    url: served.url,
    masterToken: secrets.masterToken,
    masterTokenFile: secrets.masterTokenFile,
    seedAdminPasswordFile,
    hub,
    dispatcher,
    queue,
    async close() {
      if (closed) return;
      closed = true;
      await served.close();
      await dispatcher.stop();
      await queue.close();
      memory?.close();
      database.close();
    },
  };
}
