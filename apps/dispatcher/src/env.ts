import { parseEnv } from "@m3shd/service-kit";
import { z } from "zod";

/** The dispatcher's environment, parsed once at boot. Durations are in milliseconds. */
export const DispatcherEnvSchema = z.object({
  /** Directory of the shared SQLite file (the hub's data volume). */
  M3SHD_DATA_DIR: z.string().default("./data"),
  /** SQLite file; defaults to `<data dir>/m3shd.db`. */
  M3SHD_DB_PATH: z.string().optional(),
  /** Required when running alone: the queue and event bus the hub publishes to. */
  REDIS_URL: z.string().url().optional(),
  M3SHD_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .default("m3shd"),
  M3SHD_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /**
   * Serve `GET /health` (each sweep's last run; 503 when one is overdue or Redis is down) on this
   * port of 127.0.0.1; unset: no HTTP at all.
   */
  M3SHD_HEALTH_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Address for the health endpoint (default loopback). */
  M3SHD_HEALTH_HOST: z.string().default("127.0.0.1"),
  /** Agent silent this long → offline, its tasks requeued. */
  M3SHD_OFFLINE_AFTER_MS: z.coerce.number().int().min(1000).default(90_000),
  /** Task assigned/running this long → requeued (or failed after max attempts). */
  M3SHD_ZOMBIE_AFTER_MS: z.coerce.number().int().min(1000).default(600_000),
  /** Circuit-breaker cool-down before a half-open probe. */
  M3SHD_BREAKER_COOLDOWN_MS: z.coerce.number().int().min(0).default(60_000),
  /** UCB exploration weight. */
  M3SHD_UCB_EXPLORATION: z.coerce.number().min(0).max(10).default(0.5),
  /** Tokens per agent per UTC day unless the agent has its own cap; 0: no cap (same variable as the hub's). */
  M3SHD_DAILY_TOKEN_CAP: z.coerce.number().int().min(0).default(500_000),
  /** A task that fails for good cancels its waiting descendants (default true; same as the hub's). */
  M3SHD_DAG_FAIL_FAST: z
    .enum(["true", "false", "1", "0", ""])
    .transform((v) => v !== "false" && v !== "0")
    .optional(),
  /** UTF-8 bytes of parent output injected into a released child's prompt (same as the hub's). */
  M3SHD_PARENT_OUTPUT_BUDGET_BYTES: z.coerce.number().int().min(1024).max(1_048_576).default(49_152),
});
export type DispatcherEnv = z.infer<typeof DispatcherEnvSchema>;

/** Parses `process.env` (or a given record); throws a readable message on bad config. */
export function parseDispatcherEnv(env: Record<string, string | undefined> = process.env): DispatcherEnv {
  return parseEnv(DispatcherEnvSchema, env, "dispatcher");
}
