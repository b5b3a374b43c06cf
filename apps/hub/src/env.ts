import { parseEnv } from "@m3shd/service-kit";
import { z } from "zod";

const bool = z
  .enum(["true", "false", "1", "0", ""])
  .transform((v) => v === "true" || v === "1")
  .optional();

/**
 * The hub's environment, parsed once at boot. Defaults run the embedded mode: SQLite under
 * ./data, in-process queues, secrets generated on first run and kept in 0600 files.
 */
export const HubEnvSchema = z.object({
  /** Interface to bind. Loopback by default: expose the hub through a TLS proxy, not directly. */
  M3SHD_HOST: z.string().default("127.0.0.1"),
  /** Port to listen on; 0 picks a free one. */
  M3SHD_PORT: z.coerce.number().int().min(0).max(65535).default(7700),
  /** Directory for the SQLite file and generated secrets. */
  M3SHD_DATA_DIR: z.string().default("./data"),
  /** SQLite file; defaults to `<data dir>/m3shd.db`. */
  M3SHD_DB_PATH: z.string().optional(),
  /** When set, queues, events and liveness go through Redis (split deployment). */
  REDIS_URL: z.string().url().optional(),
  /** Redis key prefix shared by every process of one mesh. */
  M3SHD_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .default("m3shd"),
  /** Master token. Unset: generated once and written to `<data dir>/master-token` (0600). */
  M3SHD_MASTER_TOKEN: z.string().min(32).optional(),
  /** HMAC key for provenance signatures (hex, ≥ 32 bytes). Unset: generated into `<data dir>/provenance.key`. */
  M3SHD_PROVENANCE_KEY: z
    .string()
    .regex(/^[0-9a-f]{64,}$/i)
    .optional(),
  /** Log level for pino. */
  M3SHD_LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** Replay buffer size for SSE `Last-Event-ID` resume. */
  M3SHD_SSE_REPLAY: z.coerce.number().int().min(0).max(100_000).default(1000),
  /** Per-subscriber SSE queue cap before the subscriber is dropped. */
  M3SHD_SSE_QUEUE_LIMIT: z.coerce.number().int().min(1).max(100_000).default(500),
  /** Seconds between SSE keepalive comments. */
  M3SHD_SSE_KEEPALIVE_S: z.coerce.number().min(1).max(300).default(30),
  /** Set behind a TLS-terminating proxy so cookies get `Secure` and HSTS applies. */
  M3SHD_BEHIND_TLS: bool,
  /** Client IP from the last X-Forwarded-For entry (login throttling, audit). Only behind your own proxy. */
  M3SHD_TRUST_PROXY: bool,
  /** ntfy server alerts go to (e.g. https://ntfy.sh). Unset: alerts are not sent. Needs M3SHD_NTFY_TOPIC. */
  M3SHD_NTFY_URL: z.string().url().optional(),
  /** ntfy topic for alerts. */
  M3SHD_NTFY_TOPIC: z
    .string()
    .regex(/^[-_A-Za-z0-9]{1,64}$/)
    .optional(),
  /** ntfy access token (`tk_…`); or M3SHD_NTFY_USER + M3SHD_NTFY_PASSWORD for basic auth. Never logged. */
  M3SHD_NTFY_TOKEN: z.string().min(1).optional(),
  M3SHD_NTFY_USER: z.string().min(1).optional(),
  M3SHD_NTFY_PASSWORD: z.string().min(1).optional(),
  /** Tokens per agent per UTC day unless the agent has its own cap; 0: no cap. The dispatcher enforces it. */
  M3SHD_DAILY_TOKEN_CAP: z.coerce.number().int().min(0).default(500_000),
  /** Spend per agent per UTC day (USD) that raises a budget alert; 0: spend never alerts. */
  M3SHD_SPEND_ALERT_USD: z.coerce.number().min(0).default(10),
  /** A failed or cancelled task cancels its waiting descendants (default true). */
  M3SHD_DAG_FAIL_FAST: bool,
  /** UTF-8 bytes of parent output injected into a released child's prompt, shared by its parents. */
  M3SHD_PARENT_OUTPUT_BUDGET_BYTES: z.coerce.number().int().min(1024).max(1_048_576).default(49_152),
  /** Directory of the built dashboard (default: `apps/dashboard/dist` beside this app). */
  M3SHD_DASHBOARD_DIR: z.string().optional(),
  /** Serve the public, read-only, redacted demo dashboard at `/demo` (rate limited per IP). */
  M3SHD_DEMO: bool,
});
export type HubEnv = z.infer<typeof HubEnvSchema>;

/** Parses `process.env` (or a given record); throws a readable message on bad config. */
export function parseHubEnv(env: Record<string, string | undefined> = process.env): HubEnv {
  return parseEnv(HubEnvSchema, env, "hub");
}
