import type { OpenedDatabase } from "@m3shd/db";
import type { MemoryClient } from "@m3shd/memory";
import type { QueueRuntime } from "@m3shd/queue";
import type { Registry } from "@m3shd/service-kit";
import type { Logger } from "pino";
import type { PluginsConfig } from "./plugins/config";
import type { WorkflowsConfig } from "./services/workflow-config";

/** Tunables of the hub; every timeout is configurable so tests run in seconds. */
export interface HubConfig {
  /** Master token: every permission. Compared in constant time, never logged. */
  masterToken: string;
  /** HMAC key that signs provenance links. */
  provenanceKey: Buffer;
  /**
   * Key that seals secrets the hub must read back (inbound webhook secrets): 32 bytes. Unset: one
   * is derived from `provenanceKey` (HKDF-SHA256, info `m3shd secrets v1`), so a hub built with
   * only the two classic secrets still works; `pnpm start` and the hub process use a key file.
   */
  secretsKey?: Buffer;
  /** Upper bound of a long-poll's `wait` in ms (30 s). */
  longPollMaxMs: number;
  /**
   * How long a cancellation notice (a task cancelled while its agent held it) is listed in that
   * agent's heartbeats unless acknowledged first (10 min, the default zombie timeout).
   */
  cancelNoticeTtlMs?: number;
  /** SSE: replay buffer size, per-subscriber queue cap, keepalive interval. */
  sse: { replayCapacity: number; queueLimit: number; keepaliveMs: number };
  /** DAGs, budgets, escalations and ntfy alerts; defaults in `DEFAULT_WORKFLOWS_CONFIG`. */
  workflows?: Partial<WorkflowsConfig>;
  /** Retries a failed attempt gets before the task fails for good are the task's `max_attempts`. */
  version: string;
  /** Set behind TLS: secure cookies, HSTS honoured by browsers. */
  behindTls: boolean;
  /** Data directory: the seed admin's generated password is written there (0600). Unset: no seed admin. */
  dataDir?: string;
  /** Redis for rate-limit counters shared by every hub process. Unset: counters live in this process. */
  redisUrl?: string | undefined;
  /** Redis key prefix of this mesh (default "m3shd"). */
  redisPrefix?: string;
  /** Take the client IP from the last `X-Forwarded-For` entry (only behind your own proxy). */
  trustProxy?: boolean;
  /** Sessions and login throttling; defaults in `DEFAULT_AUTH_CONFIG`. */
  auth?: Partial<AuthConfig>;
  /** Audit rows older than this many days are pruned (365; 0 keeps every row). */
  auditRetentionDays?: number;
  /** How often the hub prunes the audit log, in ms (1 h). */
  auditPruneEveryMs?: number;
  /**
   * The operator dashboard: `dir` holds its build (`index.html`, `assets/`); unset or missing, `/`
   * shows how to build it. `demo` serves the public read-only dashboard at `/demo`.
   */
  dashboard?: { dir?: string | undefined; demo?: boolean | undefined };
  /**
   * The model that reads free text when the deterministic parsers find nothing (voice dispatch,
   * mesh control). Unset: only the deterministic parsers run.
   */
  interpreter?: { run(input: { prompt: string; system?: string }): Promise<{ output: string }> } | undefined;
  /** Plugins: the directory loaded at start, timeouts, the built-in tools' settings (docs/plugins.md). */
  plugins?: PluginsConfig;
  /** Node identity, validation and credit; defaults in `DEFAULT_CONTRIBUTION_CONFIG`. */
  contribution?: Partial<ContributionConfig>;
}

/** Verifiable contribution (docs/contribution.md). */
export interface ContributionConfig {
  /** Accept results without a signature from agents with no bound key, marked `unsigned` (true). */
  allowUnsigned: boolean;
  /** A node key bound at registration waits for an admin's approval before results are accepted (false). */
  requireKeyApproval: boolean;
  /** Consecutive valid results per node × job type during which every result is recomputed (10). */
  probation: number;
  /** After probation a result is checked with probability max(minCheckRate, 1 / streak) (0.05). */
  minCheckRate: number;
  /** The random source of the spot checks, in [0, 1); inject a seeded one to make tests exact. */
  random: () => number;
}

export const DEFAULT_CONTRIBUTION_CONFIG: ContributionConfig = {
  allowUnsigned: true,
  requireKeyApproval: false,
  probation: 10,
  minCheckRate: 0.05,
  random: Math.random,
};

/** The hub's contribution settings, defaults filled in. */
export function contributionOf(ctx: { config: HubConfig }): ContributionConfig {
  return { ...DEFAULT_CONTRIBUTION_CONFIG, ...ctx.config.contribution };
}

/**
 * mulberry32: a small seeded PRNG in [0, 1). For tests and reproducible runs of the validator's
 * spot checks — never for anything secret.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Contribution settings from the hub's environment. */
export function contributionFromEnv(env: {
  M3SHD_ALLOW_UNSIGNED_RESULTS?: boolean | undefined;
  M3SHD_REQUIRE_KEY_APPROVAL?: boolean | undefined;
  M3SHD_VALIDATION_PROBATION: number;
  M3SHD_VALIDATION_MIN_RATE: number;
}): Partial<ContributionConfig> {
  return {
    allowUnsigned: env.M3SHD_ALLOW_UNSIGNED_RESULTS ?? true,
    requireKeyApproval: env.M3SHD_REQUIRE_KEY_APPROVAL ?? false,
    probation: env.M3SHD_VALIDATION_PROBATION,
    minCheckRate: env.M3SHD_VALIDATION_MIN_RATE,
  };
}

/** Session lifetime and login throttling. */
export interface AuthConfig {
  /** Session lifetime from login (24 h). */
  sessionTtlMs: number;
  /** Failed logins allowed per client IP per window (5); the next attempt is a 429. */
  loginMaxFailures: number;
  /** Login throttling window (5 min). */
  loginWindowMs: number;
}

export const DEFAULT_AUTH_CONFIG: AuthConfig = {
  sessionTtlMs: 24 * 60 * 60 * 1000,
  loginMaxFailures: 5,
  loginWindowMs: 5 * 60 * 1000,
};

/** Everything a hub service function needs. Built once per app; tests build their own. */
export interface HubContext {
  database: OpenedDatabase;
  queue: QueueRuntime;
  logger: Logger;
  /** Injectable clock (epoch ms). */
  now: () => number;
  config: HubConfig;
  startedAt: number;
  /**
   * Agent memory (in-process in the embedded mesh, HTTP in split deployments). Unset: tasks run
   * without memories and the memory routes answer 503.
   */
  memory?: MemorySettings;
  /**
   * Registry the hub's metrics go on (the all-in-one mesh shares one with its dispatcher). Unset:
   * a registry of its own, with process metrics.
   */
  metrics?: Registry;
}

/** How the hub uses the memory service at pickup. */
export interface MemorySettings {
  client: MemoryClient;
  /** Memories injected per task (default 5). */
  topK: number;
  /** Character budget of the injected block (default 2000). */
  charBudget: number;
}

export const DEFAULT_HUB_CONFIG: Omit<HubConfig, "masterToken" | "provenanceKey"> = {
  longPollMaxMs: 30_000,
  sse: { replayCapacity: 1000, queueLimit: 500, keepaliveMs: 30_000 },
  version: "0.1.0",
  behindTls: false,
};
