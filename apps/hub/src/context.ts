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
