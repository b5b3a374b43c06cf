import {
  DEFAULT_LIFECYCLE_SETTINGS,
  type LifecycleEnv,
  type LifecycleSettings,
  lifecycleSettingsFromEnv,
} from "@m3shd/lifecycle";
import type { HubContext } from "../context";

/** Where alerts go: an ntfy server and topic, optionally authenticated. */
export interface NtfyConfig {
  /** Server root, e.g. `https://ntfy.sh`; alerts are POSTed to it as JSON (`{ topic, … }`). */
  url: string;
  topic: string;
  /** Access token (`Authorization: Bearer tk_…`); takes precedence over user/password. */
  token?: string | undefined;
  /** Basic auth. */
  username?: string | undefined;
  password?: string | undefined;
  /** Per-request timeout; a slower server counts as a failure and the job is retried (10 s). */
  timeoutMs?: number;
}

/**
 * Tunables of the workflows feature. The lifecycle part (`dag`, `dailyTokenCap`) is the lifecycle
 * module's type, shared with the dispatcher; the rest is the hub's alone.
 */
export interface WorkflowsConfig extends LifecycleSettings {
  /** Spend per agent per UTC day that triggers a budget alert (USD); null: spend never alerts. */
  spendAlertUsd: number | null;
  /** Consecutive failures of an agent that open an escalation (3). */
  escalationThreshold: number;
  /** Escalation target for agents without their own: `operator` or an agent id. */
  escalationTarget: string;
  /** Alerts are sent here; null: alert jobs are consumed and dropped. */
  ntfy: NtfyConfig | null;
  /** Memories per agent for the analytics, when the hub can reach the memory service. */
  memoryCounts?: (agentIds: readonly string[]) => Promise<ReadonlyMap<string, number>>;
}

export const DEFAULT_WORKFLOWS_CONFIG: WorkflowsConfig = {
  ...DEFAULT_LIFECYCLE_SETTINGS,
  spendAlertUsd: 10,
  escalationThreshold: 3,
  escalationTarget: "operator",
  ntfy: null,
};

const resolved = new WeakMap<object, WorkflowsConfig>();

/** The hub's workflows config with defaults filled in (computed once per config object). */
export function workflowsOf(ctx: HubContext): WorkflowsConfig {
  let config = resolved.get(ctx.config);
  if (!config) {
    const given = ctx.config.workflows ?? {};
    config = {
      ...DEFAULT_WORKFLOWS_CONFIG,
      ...given,
      dag: { ...DEFAULT_WORKFLOWS_CONFIG.dag, ...given.dag },
    };
    resolved.set(ctx.config, config);
  }
  return config;
}

/**
 * The workflows config from the hub's environment (`M3SHD_NTFY_*`, the spend alert) and the
 * lifecycle fragment (caps, DAG settings), which the dispatcher parses with the same schema.
 */
export function workflowsFromEnv(
  env: LifecycleEnv & {
    M3SHD_NTFY_URL?: string | undefined;
    M3SHD_NTFY_TOPIC?: string | undefined;
    M3SHD_NTFY_TOKEN?: string | undefined;
    M3SHD_NTFY_USER?: string | undefined;
    M3SHD_NTFY_PASSWORD?: string | undefined;
    M3SHD_SPEND_ALERT_USD: number;
  },
): Partial<WorkflowsConfig> {
  if ((env.M3SHD_NTFY_URL === undefined) !== (env.M3SHD_NTFY_TOPIC === undefined)) {
    throw new Error("Invalid hub configuration: M3SHD_NTFY_URL and M3SHD_NTFY_TOPIC go together");
  }
  return {
    ...lifecycleSettingsFromEnv(env),
    spendAlertUsd: env.M3SHD_SPEND_ALERT_USD > 0 ? env.M3SHD_SPEND_ALERT_USD : null,
    ntfy:
      env.M3SHD_NTFY_URL && env.M3SHD_NTFY_TOPIC
        ? {
            url: env.M3SHD_NTFY_URL,
            topic: env.M3SHD_NTFY_TOPIC,
            token: env.M3SHD_NTFY_TOKEN,
            username: env.M3SHD_NTFY_USER,
            password: env.M3SHD_NTFY_PASSWORD,
          }
        : null,
  };
}
