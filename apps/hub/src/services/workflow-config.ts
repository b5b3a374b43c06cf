import { type DagSettings, DEFAULT_DAG_SETTINGS, DEFAULT_DAILY_TOKEN_CAP } from "@m3shd/db";
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

/** Tunables of the workflows feature. */
export interface WorkflowsConfig {
  /** Fail-fast and the parent-output budget for released children. */
  dag: DagSettings;
  /** Tokens per agent per UTC day unless the agent has its own cap; 0: no cap (500,000). */
  dailyTokenCap: number;
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
  dag: DEFAULT_DAG_SETTINGS,
  dailyTokenCap: DEFAULT_DAILY_TOKEN_CAP,
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

/** The workflows config from the hub's environment (`M3SHD_NTFY_*`, caps, DAG settings). */
export function workflowsFromEnv(env: {
  M3SHD_NTFY_URL?: string | undefined;
  M3SHD_NTFY_TOPIC?: string | undefined;
  M3SHD_NTFY_TOKEN?: string | undefined;
  M3SHD_NTFY_USER?: string | undefined;
  M3SHD_NTFY_PASSWORD?: string | undefined;
  M3SHD_DAILY_TOKEN_CAP: number;
  M3SHD_SPEND_ALERT_USD: number;
  M3SHD_DAG_FAIL_FAST?: boolean | undefined;
  M3SHD_PARENT_OUTPUT_BUDGET_BYTES: number;
}): Partial<WorkflowsConfig> {
  if ((env.M3SHD_NTFY_URL === undefined) !== (env.M3SHD_NTFY_TOPIC === undefined)) {
    throw new Error("Invalid hub configuration: M3SHD_NTFY_URL and M3SHD_NTFY_TOPIC go together");
  }
  return {
    dag: {
      failFast: env.M3SHD_DAG_FAIL_FAST ?? true,
      parentOutputBudgetBytes: env.M3SHD_PARENT_OUTPUT_BUDGET_BYTES,
    },
    dailyTokenCap: env.M3SHD_DAILY_TOKEN_CAP,
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
