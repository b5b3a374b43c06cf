import type { OpenedDatabase } from "@m3shd/db";
import type { QueueRuntime } from "@m3shd/queue";
import type { Logger } from "pino";

/** Tunables of the hub; every timeout is configurable so tests run in seconds. */
export interface HubConfig {
  /** Master token: every permission. Compared in constant time, never logged. */
  masterToken: string;
  /** HMAC key that signs provenance links. */
  provenanceKey: Buffer;
  /** Upper bound of a long-poll's `wait` in ms (30 s). */
  longPollMaxMs: number;
  /** SSE: replay buffer size, per-subscriber queue cap, keepalive interval. */
  sse: { replayCapacity: number; queueLimit: number; keepaliveMs: number };
  /** Retries a failed attempt gets before the task fails for good are the task's `max_attempts`. */
  version: string;
  /** Set behind TLS: secure cookies, HSTS honoured by browsers. */
  behindTls: boolean;
}

/** Everything a hub service function needs. Built once per app; tests build their own. */
export interface HubContext {
  database: OpenedDatabase;
  queue: QueueRuntime;
  logger: Logger;
  /** Injectable clock (epoch ms). */
  now: () => number;
  config: HubConfig;
  startedAt: number;
}

export const DEFAULT_HUB_CONFIG: Omit<HubConfig, "masterToken" | "provenanceKey"> = {
  longPollMaxMs: 30_000,
  sse: { replayCapacity: 1000, queueLimit: 500, keepaliveMs: 30_000 },
  version: "0.1.0",
  behindTls: false,
};
