import {
  type DagSettings,
  DEFAULT_DAG_SETTINGS,
  DEFAULT_DAILY_TOKEN_CAP,
  type OpenedDatabase,
} from "@m3shd/db";
import type { QueueRuntime } from "@m3shd/queue";
import type { Logger } from "pino";
import { DEFAULT_SELECTION, type SelectionConfig } from "./select";

/** Every timeout is configurable so tests run in seconds. */
export interface DispatcherConfig {
  selection: SelectionConfig;
  /** Queued tasks considered per pass. */
  batchSize: number;
  /** Jobs of `dispatch.assign` handled at once (they share coalesced passes). */
  concurrency: number;
  /** An agent silent this long is offline and its tasks are requeued (default 90 s). */
  offlineAfterMs: number;
  /** A task assigned/running this long is a zombie: requeued, or failed after max attempts (10 min). */
  zombieAfterMs: number;
  /** Sweep intervals; `approvals` (expiry of pending approvals) defaults to 5 s. */
  sweepEveryMs: {
    heartbeats: number;
    zombies: number;
    deadlines: number;
    reconcile: number;
    approvals?: number;
  };
  /**
   * Tokens per agent per UTC day unless the agent has its own cap (`agents.daily_token_cap`); an
   * agent at or over its cap gets no new work until the day rolls over. 0: no default cap.
   */
  dailyTokenCap: number;
  /** What a task that fails for good here (attempts used up) does to its dependents. */
  dag: DagSettings;
}

export const DEFAULT_DISPATCHER_CONFIG: DispatcherConfig = {
  selection: DEFAULT_SELECTION,
  batchSize: 500,
  concurrency: 32,
  offlineAfterMs: 90_000,
  zombieAfterMs: 10 * 60_000,
  sweepEveryMs: {
    heartbeats: 5_000,
    zombies: 30_000,
    deadlines: 60_000,
    reconcile: 10_000,
    approvals: 5_000,
  },
  dailyTokenCap: DEFAULT_DAILY_TOKEN_CAP,
  dag: DEFAULT_DAG_SETTINGS,
};

export interface DispatcherContext {
  database: OpenedDatabase;
  queue: QueueRuntime;
  logger: Logger;
  now: () => number;
  config: DispatcherConfig;
}
