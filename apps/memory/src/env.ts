import { parseEnv, secretsFromFiles } from "@m3shd/service-kit";
import { z } from "zod";

/**
 * Environment of the standalone memory process, parsed once at boot. Defaults suit a single host:
 * everything under ./data, secrets generated on first run into 0600 files.
 */
export const MemoryEnvSchema = z.object({
  /** Interface to bind. Loopback by default: only the hub should reach this service. */
  M3SHD_MEMORY_HOST: z.string().default("127.0.0.1"),
  /** Port to listen on; 0 picks a free one. */
  M3SHD_MEMORY_PORT: z.coerce.number().int().min(0).max(65535).default(7710),
  /** Directory for the memory database and generated secrets (shared with the hub for the service token). */
  M3SHD_DATA_DIR: z.string().default("./data"),
  /** Memory database file; defaults to `<data dir>/memory.db`. Never the hub's database. */
  M3SHD_MEMORY_DB_PATH: z.string().optional(),
  /** KEK ring, comma-separated, primary first (`m3shd-kek-v1:…`). Unset: read/created at M3SHD_MEMORY_KEK_FILE. */
  M3SHD_MEMORY_KEK: z.string().optional(),
  /** KEK ring file, one key per line, primary first; default `<data dir>/memory-kek` (0600). */
  M3SHD_MEMORY_KEK_FILE: z.string().optional(),
  /** Offline recovery public key. Unset: read/created at `<data dir>/memory-recovery.pub`. `none` disables escrow. */
  M3SHD_MEMORY_RECOVERY_PUBLIC_KEY: z.string().optional(),
  /** Shared secret the hub presents. Unset: read/created at `<data dir>/memory-service-token` (0600). */
  M3SHD_MEMORY_SERVICE_TOKEN: z.string().min(32).optional(),
  /** When set, `memory.extract`/`memory.consolidate` are consumed from Redis (split deployment). */
  REDIS_URL: z.string().url().optional(),
  /** Redis key prefix shared by every process of one mesh. */
  M3SHD_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .default("m3shd"),
  /** Seconds between scheduled consolidations of every agent; 0 disables (on demand only). Default: daily. */
  M3SHD_MEMORY_CONSOLIDATE_EVERY_S: z.coerce
    .number()
    .int()
    .min(0)
    .max(31 * 86_400)
    .default(86_400),
  /** Summed document frequency ranked with bm25 per query (see docs/memory.md). */
  M3SHD_MEMORY_SEARCH_DF_BUDGET: z.coerce.number().int().min(10).max(10_000_000).default(1500),
  /** Log level for pino. */
  M3SHD_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /**
   * Serve `GET /metrics` (Prometheus) on this port of M3SHD_MEMORY_METRICS_HOST, apart from the API
   * (whose port needs the service token, which a scraper must not hold). Unset: no metrics.
   */
  M3SHD_MEMORY_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  /** Address of the metrics listener (default loopback). */
  M3SHD_MEMORY_METRICS_HOST: z.string().default("127.0.0.1"),
});
export type MemoryEnv = z.infer<typeof MemoryEnvSchema>;

/** Parses `process.env` (or a given record); throws a readable message on bad config. */
export function parseMemoryEnv(env: Record<string, string | undefined> = process.env): MemoryEnv {
  return parseEnv(MemoryEnvSchema, secretsFromFiles(env, MEMORY_FILE_SECRETS), "memory service");
}

/**
 * Secrets that may come from a file (`<NAME>_FILE`, e.g. a compose secret). The KEK ring has its
 * own `M3SHD_MEMORY_KEK_FILE` (a ring file, which `kek add` rewrites), read as before.
 */
export const MEMORY_FILE_SECRETS = [
  "M3SHD_MEMORY_SERVICE_TOKEN",
  "M3SHD_MEMORY_RECOVERY_PUBLIC_KEY",
] as const;
