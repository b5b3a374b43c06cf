import { LifecycleEnvShape, lifecycleSettingsFromEnv } from "@m3shd/lifecycle";
import { MeshStorageEnvShape, parseEnv } from "@m3shd/service-kit";
import { z } from "zod";
import { DEFAULT_DISPATCHER_CONFIG, type DispatcherConfig } from "./context";

/**
 * The dispatcher's environment, parsed once at boot. Durations are in milliseconds. The storage
 * and lifecycle variables (DAG fail-fast, parent-output budget, daily token cap, breaker
 * cool-down) are fragments shared with the hub, parsed by the same schemas. Running alone it
 * needs REDIS_URL: the queue and event bus the hub publishes to.
 */
export const DispatcherEnvSchema = z.object({
  ...MeshStorageEnvShape,
  ...LifecycleEnvShape,
  /**
   * Serve `GET /health` (each sweep's last run; 503 when one is overdue or Redis is down) and
   * `GET /metrics` (Prometheus) on this port of M3SHD_HEALTH_HOST; unset: no HTTP at all.
   */
  M3SHD_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Address for the health and metrics endpoint (default loopback; `0.0.0.0` in a container, whose network is private). */
  M3SHD_HEALTH_HOST: z.string().default("127.0.0.1"),
  /** Agent silent this long → offline, its tasks requeued. */
  M3SHD_OFFLINE_AFTER_MS: z.coerce.number().int().min(1000).default(90_000),
  /** Task assigned/running this long → requeued (or failed after max attempts). */
  M3SHD_ZOMBIE_AFTER_MS: z.coerce.number().int().min(1000).default(600_000),
  /** Task assigned and not picked up this long → requeued (its agent died or lost its link). */
  M3SHD_PICKUP_TIMEOUT_MS: z.coerce.number().int().min(1000).default(10_000),
  /** UCB exploration weight. */
  M3SHD_UCB_EXPLORATION: z.coerce.number().min(0).max(10).default(0.5),
});
export type DispatcherEnv = z.infer<typeof DispatcherEnvSchema>;

/** Parses `process.env` (or a given record); throws a readable message on bad config. */
export function parseDispatcherEnv(env: Record<string, string | undefined> = process.env): DispatcherEnv {
  return parseEnv(DispatcherEnvSchema, env, "dispatcher");
}

/** The dispatcher's config from its parsed environment (defaults for what the environment does not set). */
export function dispatcherConfigFromEnv(env: DispatcherEnv): DispatcherConfig {
  return {
    ...DEFAULT_DISPATCHER_CONFIG,
    ...lifecycleSettingsFromEnv(env),
    offlineAfterMs: env.M3SHD_OFFLINE_AFTER_MS,
    zombieAfterMs: env.M3SHD_ZOMBIE_AFTER_MS,
    pickupTimeoutMs: env.M3SHD_PICKUP_TIMEOUT_MS,
    selection: { exploration: env.M3SHD_UCB_EXPLORATION, breakerCooldownMs: env.M3SHD_BREAKER_COOLDOWN_MS },
  };
}
