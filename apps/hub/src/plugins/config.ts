import { ANY_CAPABILITY, CapabilitySchema, ToolNameSchema } from "@m3shd/protocol";

/** Plugins and the built-in tools' settings (`HubConfig.plugins`); every timeout configurable. */
export interface PluginsConfig {
  /** Directory of plugin modules loaded at start (`M3SHD_PLUGINS_DIR`). Unset: built-ins only. */
  dir?: string | undefined;
  /** A plugin's `setup` must finish within this (10 s), or it is skipped. */
  setupTimeoutMs?: number;
  /** One tool call's limit (20 s: under the worker's 30-s request timeout). */
  toolTimeoutMs?: number;
  /** One hook run's limit (5 s). */
  hookTimeoutMs?: number;
  /** Hook runs at once; more are dropped with a warning (64). */
  hooksInFlightMax?: number;
  /** Operator override of the task capabilities allowed to call a tool, by tool name (`*`: any). */
  toolCapabilities?: Readonly<Record<string, readonly string[]>>;
  /** `web_search`: a SearXNG instance with the JSON format enabled. Unset: the tool answers `unavailable`. */
  webSearch?: { url: string; timeoutMs?: number; maxResults?: number } | undefined;
  /** `file_summary`: the only directory it reads (after resolving symlinks). Unset: `unavailable`. */
  fileSummary?: { root: string; maxBytes?: number; excerptChars?: number } | undefined;
}

export const DEFAULT_PLUGIN_SETTINGS = {
  setupTimeoutMs: 10_000,
  toolTimeoutMs: 20_000,
  hookTimeoutMs: 5_000,
  hooksInFlightMax: 64,
};

/** The config with defaults filled in. */
export function pluginsSettings(config: PluginsConfig | undefined) {
  return {
    setupTimeoutMs: config?.setupTimeoutMs ?? DEFAULT_PLUGIN_SETTINGS.setupTimeoutMs,
    toolTimeoutMs: config?.toolTimeoutMs ?? DEFAULT_PLUGIN_SETTINGS.toolTimeoutMs,
    hookTimeoutMs: config?.hookTimeoutMs ?? DEFAULT_PLUGIN_SETTINGS.hookTimeoutMs,
    hooksInFlightMax: config?.hooksInFlightMax ?? DEFAULT_PLUGIN_SETTINGS.hooksInFlightMax,
    toolCapabilities: config?.toolCapabilities ?? {},
  };
}

/**
 * `M3SHD_PLUGIN_TOOL_CAPABILITIES`: `tool=cap1,cap2;tool2=*`. Throws a message naming the bad
 * part (never a secret: this variable holds none).
 */
export function parseToolCapabilities(value: string | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (!value?.trim()) return out;
  for (const part of value.split(";")) {
    if (!part.trim()) continue;
    const eq = part.indexOf("=");
    const tool = part.slice(0, eq).trim();
    const caps = part
      .slice(eq + 1)
      .split(",")
      .map((c) => c.trim())
      .filter(Boolean);
    const valid =
      eq > 0 &&
      ToolNameSchema.safeParse(tool).success &&
      caps.length > 0 &&
      caps.every((c) => c === ANY_CAPABILITY || CapabilitySchema.safeParse(c).success);
    if (!valid) {
      throw new Error(
        `Invalid hub configuration: M3SHD_PLUGIN_TOOL_CAPABILITIES: expected tool=cap1,cap2;tool2=* near ${JSON.stringify(part.slice(0, 80))}`,
      );
    }
    out[tool] = caps;
  }
  return out;
}

/** The plugins config from the hub's parsed environment. */
export function pluginsFromEnv(env: {
  M3SHD_PLUGINS_DIR?: string | undefined;
  M3SHD_PLUGIN_TOOL_TIMEOUT_MS: number;
  M3SHD_PLUGIN_HOOK_TIMEOUT_MS: number;
  M3SHD_PLUGIN_TOOL_CAPABILITIES?: string | undefined;
  M3SHD_SEARXNG_URL?: string | undefined;
  M3SHD_FILE_SUMMARY_ROOT?: string | undefined;
  M3SHD_FILE_SUMMARY_MAX_BYTES: number;
}): PluginsConfig {
  return {
    dir: env.M3SHD_PLUGINS_DIR,
    toolTimeoutMs: env.M3SHD_PLUGIN_TOOL_TIMEOUT_MS,
    hookTimeoutMs: env.M3SHD_PLUGIN_HOOK_TIMEOUT_MS,
    toolCapabilities: parseToolCapabilities(env.M3SHD_PLUGIN_TOOL_CAPABILITIES),
    webSearch: env.M3SHD_SEARXNG_URL ? { url: env.M3SHD_SEARXNG_URL } : undefined,
    fileSummary: env.M3SHD_FILE_SUMMARY_ROOT
      ? { root: env.M3SHD_FILE_SUMMARY_ROOT, maxBytes: env.M3SHD_FILE_SUMMARY_MAX_BYTES }
      : undefined,
  };
}
