import type { OpenedDatabase } from "@m3shd/db";
import { DEFAULT_LIFECYCLE_SETTINGS, type LifecycleSettings } from "@m3shd/lifecycle";
import type { QueueRuntime } from "@m3shd/queue";
import type { Registry } from "@m3shd/service-kit";
import type { Logger } from "pino";
import { DEFAULT_SELECTION, type SelectionConfig } from "./select";

/**
 * Every timeout is configurable so tests run in seconds. The lifecycle settings (`dag`: what a
 * task that fails for good here does to its dependents; `dailyTokenCap`) are the lifecycle
 * module's, the same type and defaults the hub reads.
 */
export interface DispatcherConfig extends LifecycleSettings {
  selection: SelectionConfig;
  /** Queued tasks considered per pass. */
  batchSize: number;
  /** Jobs of `dispatch.assign` handled at once (they share coalesced passes). */
  concurrency: number;
  /** An agent silent this long is offline and its tasks are requeued (default 90 s). */
  offlineAfterMs: number;
  /** A task assigned/running this long is a zombie: requeued, or failed after max attempts (10 min). */
  zombieAfterMs: number;
  /** A task assigned this long and not picked up by its agent goes back to the queue (10 s). */
  pickupTimeoutMs: number;
  /**
   * Sweep intervals; `approvals` (expiry of pending approvals) defaults to 5 s, `pickups` to a
   * fifth of the pickup timeout (at least 250 ms).
   */
  sweepEveryMs: {
    heartbeats: number;
    zombies: number;
    deadlines: number;
    reconcile: number;
    approvals?: number;
    pickups?: number;
  };
}

export const DEFAULT_DISPATCHER_CONFIG: DispatcherConfig = {
  ...DEFAULT_LIFECYCLE_SETTINGS,
  selection: DEFAULT_SELECTION,
  batchSize: 500,
  concurrency: 32,
  offlineAfterMs: 90_000,
  zombieAfterMs: 10 * 60_000,
  pickupTimeoutMs: 10_000,
  sweepEveryMs: {
    heartbeats: 5_000,
    zombies: 30_000,
    deadlines: 60_000,
    reconcile: 10_000,
    approvals: 5_000,
  },
};

export interface DispatcherContext {
  database: OpenedDatabase;
  queue: QueueRuntime;
  logger: Logger;
  now: () => number;
  config: DispatcherConfig;
  /** Where dispatch metrics go (latency, pass duration, assignments). Unset: none are kept. */
  metrics?: Registry;
}
