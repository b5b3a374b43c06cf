import { BullmqQueueDriver } from "./bullmq-driver";
import { type EventBus, MemoryEventBus, RedisEventBus } from "./bus";
import type { QueueDriver } from "./driver";
import { Jobs } from "./jobs";
import { type LivenessStore, MemoryLivenessStore, RedisLivenessStore } from "./liveness";
import { MemoryQueueDriver } from "./memory-driver";

export interface QueueRuntime {
  driver: QueueDriver;
  /** Typed access to the protocol's job catalog over `driver`. */
  jobs: Jobs;
  bus: EventBus;
  liveness: LivenessStore;
  close(): Promise<void>;
}

export interface QueueRuntimeOptions {
  /** When set, everything goes through Redis (BullMQ, pub/sub, a liveness hash); else in-process. */
  redisUrl?: string | undefined;
  /** Redis key prefix (default "m3shd"); give tests a unique one. */
  prefix?: string;
  onError?: (err: unknown) => void;
  onJobFailed?: (name: string, jobId: string, err: unknown) => void;
  /** How long to wait for Redis at start before failing with a clear error (default 5000 ms). */
  connectTimeoutMs?: number;
}

/**
 * The queue driver, event bus and liveness store for one process: Redis-backed when a URL is
 * given, in-process otherwise. Processes that share a Redis URL and prefix form one mesh.
 */
export async function createQueueRuntime(options: QueueRuntimeOptions = {}): Promise<QueueRuntime> {
  const { redisUrl, prefix = "m3shd", onError, onJobFailed, connectTimeoutMs = 5000 } = options;
  if (!redisUrl) {
    const driver = new MemoryQueueDriver({ ...(onJobFailed ? { onFailed: onJobFailed } : {}) });
    const bus = new MemoryEventBus();
    const liveness = new MemoryLivenessStore();
    return {
      driver,
      jobs: new Jobs(driver),
      bus,
      liveness,
      async close() {
        await driver.close();
        await bus.close();
        await liveness.close();
      },
    };
  }
  const driver = new BullmqQueueDriver({
    url: redisUrl,
    prefix,
    ...(onError ? { onError } : {}),
    ...(onJobFailed ? { onFailed: onJobFailed } : {}),
  });
  const bus = new RedisEventBus({ url: redisUrl, prefix, ...(onError ? { onError } : {}) });
  const liveness = new RedisLivenessStore({ url: redisUrl, prefix, ...(onError ? { onError } : {}) });
  const close = async () => {
    await driver.close();
    await bus.close();
    await liveness.close();
  };
  // Fail start-up loudly instead of hanging while ioredis retries an unreachable server forever.
  let timer: NodeJS.Timeout | undefined;
  const answered = await Promise.race([
    bus.ready().then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), connectTimeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (!answered) {
    await close();
    throw new Error(`Redis at ${redactUrl(redisUrl)} did not answer within ${connectTimeoutMs} ms`);
  }
  return { driver, jobs: new Jobs(driver), bus, liveness, close };
}

/** The URL without its password, for error messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<invalid url>";
  }
}
