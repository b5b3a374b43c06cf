import { type DagSettings, DEFAULT_DAG_SETTINGS, DEFAULT_DAILY_TOKEN_CAP } from "@m3shd/db";
import { envFlag } from "@m3shd/service-kit";
import { z } from "zod";

/**
 * The settings the task lifecycle reads, in hub and dispatcher alike. Both apps' configs extend
 * this type and both parse it from the environment with `LifecycleEnvShape`, so one variable can
 * never mean one thing to the hub and another to the dispatcher.
 */
export interface LifecycleSettings {
  /** Fail-fast and the parent-output budget for released children. */
  dag: DagSettings;
  /**
   * Tokens per agent per UTC day unless the agent has its own cap (`agents.daily_token_cap`); an
   * agent at or over it gets no new work until the day rolls over. 0: no default cap.
   */
  dailyTokenCap: number;
}

export const DEFAULT_LIFECYCLE_SETTINGS: LifecycleSettings = {
  dag: DEFAULT_DAG_SETTINGS,
  dailyTokenCap: DEFAULT_DAILY_TOKEN_CAP,
};

/**
 * The environment fragment every service that runs lifecycle code merges into its own schema
 * (`z.object({ ...LifecycleEnvShape, ... })`): hub, dispatcher and the all-in-one mesh parse these
 * variables with the very same zod types.
 */
export const LifecycleEnvShape = {
  /**
   * A task that fails for good, or is cancelled, cancels its waiting descendants. On by default;
   * `0`/`false`/`no`/`off` turn it off; empty means the default; anything else is a boot error.
   */
  M3SHD_DAG_FAIL_FAST: envFlag(true),
  /** UTF-8 bytes of parent output injected into a released child's prompt, shared by its parents. */
  M3SHD_PARENT_OUTPUT_BUDGET_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .max(1_048_576)
    .default(DEFAULT_DAG_SETTINGS.parentOutputBudgetBytes),
  /** Tokens per agent per UTC day unless the agent has its own cap; 0: no cap. Enforced at dispatch. */
  M3SHD_DAILY_TOKEN_CAP: z.coerce.number().int().min(0).default(DEFAULT_DAILY_TOKEN_CAP),
  /** Circuit-breaker cool-down before an open breaker lets one probe through (ms). */
  M3SHD_BREAKER_COOLDOWN_MS: z.coerce.number().int().min(0).default(60_000),
};

export const LifecycleEnvSchema = z.object(LifecycleEnvShape);
export type LifecycleEnv = z.infer<typeof LifecycleEnvSchema>;

/** The lifecycle settings a parsed environment describes. */
export function lifecycleSettingsFromEnv(env: LifecycleEnv): LifecycleSettings {
  return {
    dag: { failFast: env.M3SHD_DAG_FAIL_FAST, parentOutputBudgetBytes: env.M3SHD_PARENT_OUTPUT_BUDGET_BYTES },
    dailyTokenCap: env.M3SHD_DAILY_TOKEN_CAP,
  };
}
