import { LifecycleEnvShape } from "@m3shd/lifecycle";
import { createProvider, PLACEHOLDER_API_KEY, type ProviderConfigInput } from "@m3shd/providers";
import { envFlag, MeshStorageEnvShape, parseEnv, secretsFromFiles } from "@m3shd/service-kit";
import { z } from "zod";
import type { HubConfig } from "./context";

/**
 * The hub's environment, parsed once at boot. Defaults run the embedded mode: SQLite under
 * ./data, in-process queues, secrets generated on first run and kept in 0600 files. The storage
 * and lifecycle variables are fragments shared with the dispatcher, parsed by the same schemas.
 */
export const HubEnvSchema = z.object({
  ...MeshStorageEnvShape,
  ...LifecycleEnvShape,
  /** Interface to bind. Loopback by default: expose the hub through a TLS proxy, not directly. */
  M3SHD_HOST: z.string().default("127.0.0.1"),
  /** Port to listen on; 0 picks a free one. */
  M3SHD_PORT: z.coerce.number().int().min(0).max(65535).default(7700),
  /** Master token. Unset: generated once and written to `<data dir>/master-token` (0600). */
  M3SHD_MASTER_TOKEN: z.string().min(32).optional(),
  /** HMAC key for provenance signatures (hex, ≥ 32 bytes). Unset: generated into `<data dir>/provenance.key`. */
  M3SHD_PROVENANCE_KEY: z
    .string()
    .regex(/^[0-9a-f]{64,}$/i)
    .optional(),
  /** Replay buffer size for SSE `Last-Event-ID` resume. */
  M3SHD_SSE_REPLAY: z.coerce.number().int().min(0).max(100_000).default(1000),
  /** Per-subscriber SSE queue cap before the subscriber is dropped. */
  M3SHD_SSE_QUEUE_LIMIT: z.coerce.number().int().min(1).max(100_000).default(500),
  /** Seconds between SSE keepalive comments. */
  M3SHD_SSE_KEEPALIVE_S: z.coerce.number().min(1).max(300).default(30),
  /** Set behind a TLS-terminating proxy so cookies get `Secure` and HSTS applies. */
  M3SHD_BEHIND_TLS: envFlag(false),
  /** Client IP from the last X-Forwarded-For entry (login throttling, audit). Only behind your own proxy. */
  M3SHD_TRUST_PROXY: envFlag(false),
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
  /** Audit rows older than this many days are pruned hourly; 0 keeps every row. */
  M3SHD_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(365),
  /** Spend per agent per UTC day (USD) that raises a budget alert; 0: spend never alerts. */
  M3SHD_SPEND_ALERT_USD: z.coerce.number().min(0).default(10),
  /** Directory of the built dashboard (default: `apps/dashboard/dist` beside this app). */
  M3SHD_DASHBOARD_DIR: z.string().optional(),
  /** Serve the public, read-only, redacted demo dashboard at `/demo` (rate limited per IP). */
  M3SHD_DEMO: envFlag(false),
  /** Hex key (32 bytes) sealing secrets the hub reads back (inbound webhook secrets); default: `<data>/secrets.key`. */
  M3SHD_SECRETS_KEY: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, "64 hex characters")
    .optional(),
  /**
   * The model that reads free text when the deterministic parsers find nothing (voice dispatch,
   * mesh control): a provider kind of `@m3shd/providers`. Unset: deterministic parsers only.
   */
  M3SHD_INTERPRETER_PROVIDER: z.enum(["anthropic", "openai", "grok", "openai-compatible"]).optional(),
  /** Its model (a small, fast one). */
  M3SHD_INTERPRETER_MODEL: z.string().min(1).optional(),
  /** Its base URL (Anthropic: the host root; the OpenAI family: ending in `/v1`). */
  M3SHD_INTERPRETER_BASE_URL: z.url().optional(),
  /** Its API key (never logged); a local OpenAI-compatible server may need none. */
  M3SHD_INTERPRETER_API_KEY: z.string().min(1).optional(),
  /**
   * The standalone memory service (split deployment), e.g. `http://memory:7710`. Unset: this hub
   * runs without memories (the memory routes answer 503). The all-in-one mesh ignores it.
   */
  M3SHD_MEMORY_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The memory service's token. Unset: read/created at `<data dir>/memory-service-token` (0600). */
  M3SHD_MEMORY_SERVICE_TOKEN: z.string().min(32).optional(),
  /** Directory of plugin modules loaded at start (docs/plugins.md). Unset: built-in tools only. */
  M3SHD_PLUGINS_DIR: z.string().min(1).optional(),
  /** One tool call's limit in ms (under the worker's 30-s request timeout). */
  M3SHD_PLUGIN_TOOL_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(20_000),
  /** One plugin hook run's limit in ms. */
  M3SHD_PLUGIN_HOOK_TIMEOUT_MS: z.coerce.number().int().min(10).max(600_000).default(5_000),
  /** Who may call which tool: `tool=cap1,cap2;tool2=*` (overrides each tool's own list). */
  M3SHD_PLUGIN_TOOL_CAPABILITIES: z.string().optional(),
  /** `web_search`'s SearXNG base URL (JSON format enabled). Unset: the tool answers unavailable. */
  M3SHD_SEARXNG_URL: z.url({ protocol: /^https?$/ }).optional(),
  /** The only directory `file_summary` reads. Unset: the tool answers unavailable. */
  M3SHD_FILE_SUMMARY_ROOT: z.string().min(1).optional(),
  /** Largest file `file_summary` reads (bytes). */
  M3SHD_FILE_SUMMARY_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /**
   * Accept a result without a node signature from an agent that has no bound key (marked
   * `unsigned` in the ledger). Default true, so workers without `m3shd-worker init` keep working;
   * an agent with a bound key must always sign. Set 0 to require every result signed.
   */
  M3SHD_ALLOW_UNSIGNED_RESULTS: envFlag(true),
  /** New node keys wait for an admin's approval (`POST /api/agents/:id/keys/:key_id/approve`). */
  M3SHD_REQUIRE_KEY_APPROVAL: envFlag(false),
  /** Adaptive replication: consecutive valid results per node × job type before spot checks (10). */
  M3SHD_VALIDATION_PROBATION: z.coerce.number().int().min(1).max(10_000).default(10),
  /** Adaptive replication: the lowest check probability after probation (floor of 1/n; 0.05). */
  M3SHD_VALIDATION_MIN_RATE: z.coerce.number().min(0).max(1).default(0.05),
});
export type HubEnv = z.infer<typeof HubEnvSchema>;

/** Parses `process.env` (or a given record); throws a readable message on bad config. */
export function parseHubEnv(env: Record<string, string | undefined> = process.env): HubEnv {
  return parseEnv(HubEnvSchema, secretsFromFiles(env, HUB_FILE_SECRETS), "hub");
}

/** The interpreter model from the environment, or undefined when none is configured. */
export function interpreterFromEnv(env: HubEnv): HubConfig["interpreter"] {
  if (!env.M3SHD_INTERPRETER_PROVIDER) return undefined;
  if (!env.M3SHD_INTERPRETER_MODEL)
    throw new Error(
      "Invalid hub configuration: M3SHD_INTERPRETER_MODEL is required with M3SHD_INTERPRETER_PROVIDER",
    );
  // Parsed by the providers package's own schema (a bad combination is a startup error there).
  const config: ProviderConfigInput = {
    kind: env.M3SHD_INTERPRETER_PROVIDER,
    model: env.M3SHD_INTERPRETER_MODEL,
    apiKey: env.M3SHD_INTERPRETER_API_KEY ?? PLACEHOLDER_API_KEY,
    ...(env.M3SHD_INTERPRETER_BASE_URL ? { baseURL: env.M3SHD_INTERPRETER_BASE_URL } : {}),
    maxTokens: 512,
    timeoutMs: 20_000,
  } as ProviderConfigInput;
  return createProvider(config);
}

/**
 * Secrets that may come from a file instead (`<NAME>_FILE`, e.g. a compose secret at
 * `/run/secrets/…`), so they never sit in the environment.
 */
export const HUB_FILE_SECRETS = [
  "M3SHD_MASTER_TOKEN",
  "M3SHD_PROVENANCE_KEY",
  "M3SHD_SECRETS_KEY",
  "M3SHD_INTERPRETER_API_KEY",
  "M3SHD_MEMORY_SERVICE_TOKEN",
  "M3SHD_NTFY_TOKEN",
  "M3SHD_NTFY_PASSWORD",
] as const;
