import { existsSync, readFileSync } from "node:fs";
import { homedir, hostname } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { AgentIdSchema, CapabilitySchema, LIMITS } from "@m3shd/protocol";
import { JOB_NAMES, ProviderConfigSchema } from "@m3shd/providers";
import { z } from "zod";
import { defaultIdentityPath } from "./identity";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/**
 * A worker's configuration, after merging the config file, the environment and the flags.
 * Durations are milliseconds here; flags and env vars take `90s`, `5m`, `500ms` (bare numbers are
 * seconds).
 */
export const WorkerConfigSchema = z
  .strictObject({
    /** Hub base URL, e.g. `https://mesh.example.com`. */
    hub: z.url({ protocol: /^https?$/ }).transform((url) => url.replace(/\/+$/, "")),
    /** Bearer token (the master token until scoped agent tokens exist). Never logged. */
    token: z.string().min(1).max(512),
    /** Agent id this worker registers as (`^[a-z0-9-]{1,64}$`). One process per id per machine. */
    id: AgentIdSchema,
    name: z.string().trim().min(1).max(LIMITS.nameChars).optional(),
    /** Host name reported to the hub. */
    machine: z
      .string()
      .trim()
      .min(1)
      .max(LIMITS.nameChars)
      .default(() => hostname().slice(0, LIMITS.nameChars) || "unknown"),
    /** Capabilities served. Optional for `jobs`, which then serves every built-in job. */
    capabilities: z
      .array(CapabilitySchema)
      .min(1)
      .max(LIMITS.capabilitiesMax)
      .refine((list) => new Set(list).size === list.length, "capabilities must be unique")
      .optional(),
    /** Concurrent executions (one per slot). */
    slots: z.int().min(1).max(LIMITS.maxConcurrentMax).default(1),
    /** Refuse new work while the 1-minute load average is above this. Unset: no ceiling. */
    maxLoad: z.number().positive().optional(),
    /**
     * A task running longer is aborted and failed (retryable). Default 9 min: under the hub's
     * 10-min zombie timeout, so the worker reports the timeout before the hub reclaims the task.
     */
    taskTimeoutMs: z.int().min(100).max(86_400_000).default(540_000),
    /** On SIGINT/SIGTERM, how long running tasks may finish before they are handed off. */
    shutdownGraceMs: z.int().min(0).max(3_600_000).default(30_000),
    heartbeatIntervalMs: z.int().min(100).max(300_000).default(10_000),
    /** Long-poll `wait` (≤ 30 s). */
    pollWaitSeconds: z.int().min(1).max(LIMITS.longPollMaxSeconds).default(25),
    /** Ceiling of the reconnect backoff while the hub is unreachable. */
    hubRetryMaxMs: z.int().min(50).max(600_000).default(15_000),
    /** Timeout of one hub request (the long-poll adds its `wait`). */
    requestTimeoutMs: z.int().min(100).max(600_000).default(30_000),
    /** After this many consecutive failed tasks the worker pauses before taking more work. */
    failureThreshold: z.int().min(1).max(100).default(3),
    /** First pause after reaching the threshold; doubles with every further failure. */
    failureBackoffMs: z.int().min(0).max(3_600_000).default(5_000),
    failureBackoffMaxMs: z.int().min(0).max(86_400_000).default(300_000),
    /** Streamed output is sent every `streamFlushMs`, or as soon as `streamFlushBytes` are buffered. */
    streamFlushMs: z.int().min(10).max(60_000).default(250),
    streamFlushBytes: z.int().min(1).max(LIMITS.streamChunkBytes).default(4096),
    /**
     * Rounds of tool calls per task: a model answer with `[TOOL_CALL]` blocks gets them invoked on
     * the hub and the results fed into the next call, at most this many times (0: never; the
     * answer is final as written). See docs/plugins.md.
     */
    toolRounds: z.int().min(0).max(10).default(3),
    /**
     * Tell the model which tools it may call: the hub's catalogue (`GET /api/plugins`, the enabled
     * tools allowed for the task's capability) and the call format, added to the system prompt.
     * Off by default: prompts and templates may describe the tools themselves.
     */
    toolCatalog: z.boolean().default(false),
    /** Where undeliverable results wait (default `~/.m3shd/workers/<id>/spool`). */
    spoolDir: z.string().min(1).optional(),
    /**
     * Rewritten after each answer from the hub (at most once a second): a container HEALTHCHECK
     * checks its age. Unset: no file.
     */
    healthFile: z.string().min(1).optional(),
    /**
     * The node's identity file (`m3shd-worker init`). When set, every result is signed with it and
     * its public key is sent at registration. Default: `$M3SHD_HOME/identity.json` if it exists.
     */
    identity: z.string().min(1).optional(),
    /**
     * TEST ONLY (env `M3SHD_TEST_CORRUPT_RESULTS`): job types whose results this worker corrupts
     * (appends a byte), to play a faulty or dishonest node in tests. Logged loudly at start.
     */
    testCorruptResults: z.array(z.string()).default([]),
    /** TEST ONLY (env `M3SHD_TEST_CORRUPT_SIGNATURE=1`): flips a bit of every result signature. */
    testCorruptSignature: z.boolean().default(false),
    logLevel: z.enum(LOG_LEVELS).default("info"),
    provider: ProviderConfigSchema,
  })
  .transform((config, ctx) => {
    const capabilities =
      config.capabilities ?? (config.provider.kind === "jobs" ? [...JOB_NAMES] : undefined);
    if (!capabilities) {
      ctx.addIssue({
        code: "custom",
        path: ["capabilities"],
        message: "at least one capability is required",
      });
      return z.NEVER;
    }
    return {
      ...config,
      capabilities,
      spoolDir: config.spoolDir ?? join(homedir(), ".m3shd", "workers", config.id, "spool"),
    };
  });
export type WorkerConfig = z.output<typeof WorkerConfigSchema>;
export type WorkerConfigInput = z.input<typeof WorkerConfigSchema>;

/** Bad configuration. The message lists every problem by path; it never contains a value. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Validates a merged config object, throwing a `ConfigError` that names paths, never values.
 * `describe` turns a config path into where the operator sets it (`--model / M3SHD_MODEL`), so
 * the message says what to fix rather than the schema's internal name.
 */
export function parseWorkerConfig(
  input: unknown,
  describe: (path: string) => string | undefined = () => undefined,
): WorkerConfig {
  const parsed = WorkerConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const path = issue.path.join(".");
    const where = path ? describe(path) : undefined;
    return `  ${where ? `${where} (${path})` : path || "(config)"}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid worker configuration:\n${lines.join("\n")}`);
}

/** Config path → the option that sets it (the rest come only from the config file). */
const OPTION_OF_PATH: Readonly<Record<string, OptionName>> = {
  hub: "hub",
  token: "token",
  id: "id",
  name: "name",
  machine: "machine",
  capabilities: "capabilities",
  slots: "slots",
  maxLoad: "max-load",
  taskTimeoutMs: "task-timeout",
  shutdownGraceMs: "shutdown-grace",
  heartbeatIntervalMs: "heartbeat",
  pollWaitSeconds: "poll-wait",
  hubRetryMaxMs: "hub-retry-max",
  toolRounds: "tool-rounds",
  toolCatalog: "tool-catalog",
  spoolDir: "spool-dir",
  healthFile: "health-file",
  identity: "identity",
  logLevel: "log-level",
  "provider.kind": "provider",
  "provider.model": "model",
  "provider.baseURL": "base-url",
  "provider.api": "api",
  "provider.maxTokens": "max-tokens",
  "provider.temperature": "temperature",
  "provider.system": "system",
  "provider.timeoutMs": "provider-timeout",
  "provider.command": "cli-command",
  "provider.args": "cli-arg",
};

/** The environment variables an API key is read from, for a provider kind. */
function apiKeyVariables(kind: unknown): string {
  const vendor =
    kind === "anthropic"
      ? "ANTHROPIC_API_KEY"
      : kind === "openai"
        ? "OPENAI_API_KEY"
        : kind === "grok"
          ? "XAI_API_KEY"
          : null;
  return vendor ? `${vendor} or M3SHD_PROVIDER_API_KEY` : "M3SHD_PROVIDER_API_KEY";
}

/** Where a config path is set: `--flag / ENV_VAR`; the API key names its variables (no flag). */
function describeConfigPath(path: string, providerKind: unknown): string | undefined {
  const top = path
    .split(".")
    .slice(0, path.startsWith("provider.") ? 2 : 1)
    .join(".");
  if (top === "provider.apiKey") return apiKeyVariables(providerKind);
  const name = OPTION_OF_PATH[top];
  if (!name) return undefined;
  const option = CLI_OPTIONS[name];
  return "env" in option ? `--${name} / ${option.env}` : `--${name}`;
}

/** `90s`, `5m`, `1h`, `250ms`, or a bare number of seconds → milliseconds. */
export function parseDuration(value: string, what: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
  if (!match) throw new ConfigError(`${what}: expected a duration like 90s, 5m or 250ms`);
  const n = Number(match[1]);
  const unit = match[2] ?? "s";
  const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000;
  return Math.round(n * factor);
}

function parseNumber(value: string, what: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new ConfigError(`${what}: expected a number`);
  return n;
}

function parseList(value: string): string[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Command-line options, for `parseArgs` and the help text. */
export const CLI_OPTIONS = {
  hub: { type: "string", env: "M3SHD_HUB", help: "Hub URL" },
  token: {
    type: "string",
    env: "M3SHD_TOKEN",
    help: "Bearer token (prefer the env var: flags show in `ps`)",
  },
  "token-file": {
    type: "string",
    env: "M3SHD_TOKEN_FILE",
    help: "Read the bearer token from this file's first line (a compose secret)",
  },
  id: { type: "string", env: "M3SHD_AGENT_ID", help: "Agent id, ^[a-z0-9-]{1,64}$" },
  name: { type: "string", env: "M3SHD_AGENT_NAME", help: "Display name" },
  machine: { type: "string", env: "M3SHD_MACHINE", help: "Machine name (default: hostname)" },
  capabilities: { type: "string", env: "M3SHD_CAPABILITIES", help: "Comma-separated capabilities" },
  slots: { type: "string", env: "M3SHD_SLOTS", help: "Concurrent tasks (default 1)" },
  provider: {
    type: "string",
    env: "M3SHD_PROVIDER",
    help: "anthropic | openai | grok | openai-compatible | cli | jobs",
  },
  model: { type: "string", env: "M3SHD_MODEL", help: "Model id" },
  "base-url": { type: "string", env: "M3SHD_BASE_URL", help: "Provider base URL" },
  api: { type: "string", env: "M3SHD_OPENAI_API", help: "chat | responses (OpenAI-family providers)" },
  "max-tokens": { type: "string", env: "M3SHD_MAX_TOKENS", help: "Max output tokens (default 4096)" },
  temperature: { type: "string", env: "M3SHD_TEMPERATURE", help: "Sampling temperature (not for anthropic)" },
  system: { type: "string", env: "M3SHD_SYSTEM_PROMPT", help: "System prompt" },
  "cli-command": { type: "string", env: "M3SHD_CLI_COMMAND", help: "cli provider: executable" },
  "cli-arg": {
    type: "string",
    multiple: true,
    env: "M3SHD_CLI_ARGS",
    help: "cli provider: one argument; repeat it, and write --cli-arg=--flag for dashes (env: JSON array)",
  },
  config: { type: "string", env: "M3SHD_WORKER_CONFIG", help: "JSON config file" },
  "spool-dir": { type: "string", env: "M3SHD_SPOOL_DIR", help: "Spool directory" },
  "health-file": {
    type: "string",
    env: "M3SHD_HEALTH_FILE",
    help: "Rewrite this file after each hub answer (for a container HEALTHCHECK)",
  },
  identity: {
    type: "string",
    env: "M3SHD_IDENTITY",
    help: "Node identity file from `m3shd-worker init` (default $M3SHD_HOME/identity.json if present)",
  },
  "max-load": { type: "string", env: "M3SHD_MAX_LOAD", help: "Refuse work above this 1-min load average" },
  "task-timeout": { type: "string", env: "M3SHD_TASK_TIMEOUT", help: "Abort a task after (default 9m)" },
  "provider-timeout": {
    type: "string",
    env: "M3SHD_PROVIDER_TIMEOUT",
    help: "Limit of one provider attempt (default 10m)",
  },
  "shutdown-grace": {
    type: "string",
    env: "M3SHD_SHUTDOWN_GRACE",
    help: "Let running tasks finish for (default 30s)",
  },
  heartbeat: { type: "string", env: "M3SHD_HEARTBEAT_INTERVAL", help: "Heartbeat every (default 10s)" },
  "poll-wait": { type: "string", env: "M3SHD_POLL_WAIT", help: "Long-poll wait, ≤ 30s (default 25s)" },
  "hub-retry-max": {
    type: "string",
    env: "M3SHD_HUB_RETRY_MAX",
    help: "Max reconnect backoff (default 15s)",
  },
  "tool-rounds": {
    type: "string",
    env: "M3SHD_TOOL_ROUNDS",
    help: "Rounds of [TOOL_CALL] tool calls per task, 0-10 (default 3; 0 = off)",
  },
  "tool-catalog": {
    type: "boolean",
    env: "M3SHD_TOOL_CATALOG",
    help: "List the hub's tools for the task in the system prompt (env: 1/true)",
  },
  "log-level": { type: "string", env: "M3SHD_LOG_LEVEL", help: "fatal|error|warn|info|debug|trace|silent" },
  help: { type: "boolean", short: "h", help: "Show this help" },
  version: { type: "boolean", help: "Print the version" },
} as const;

type OptionName = keyof typeof CLI_OPTIONS;
type Flat = Partial<Record<OptionName, string | string[] | boolean>>;

type Json = Record<string, unknown>;

/**
 * Turns flat options (flags or env vars) into the nested config shape. Only options that were
 * given appear, so the layers merge key by key.
 */
function layerFrom(flat: Flat, source: "flag" | "env"): Json {
  const where = (name: OptionName) => {
    const option = CLI_OPTIONS[name];
    return source === "env" && "env" in option ? option.env : `--${name}`;
  };
  const str = (name: OptionName) => {
    const v = flat[name];
    return typeof v === "string" ? v : undefined;
  };
  const out: Json = {};
  const provider: Json = {};
  const set = (target: Json, key: string, value: unknown) => {
    if (value !== undefined) target[key] = value;
  };
  const duration = (name: OptionName) => {
    const v = str(name);
    return v === undefined ? undefined : parseDuration(v, where(name));
  };
  const number = (name: OptionName) => {
    const v = str(name);
    return v === undefined ? undefined : parseNumber(v, where(name));
  };
  set(out, "hub", str("hub"));
  const tokenFile = str("token-file");
  if (tokenFile !== undefined && str("token") !== undefined)
    throw new ConfigError(`Set ${where("token")} or ${where("token-file")}, not both`);
  set(out, "token", tokenFile === undefined ? str("token") : readTokenFile(tokenFile, where("token-file")));
  set(out, "id", str("id"));
  set(out, "name", str("name"));
  set(out, "machine", str("machine"));
  const caps = str("capabilities");
  set(out, "capabilities", caps === undefined ? undefined : parseList(caps));
  set(out, "slots", number("slots"));
  set(out, "maxLoad", number("max-load"));
  set(out, "taskTimeoutMs", duration("task-timeout"));
  set(out, "shutdownGraceMs", duration("shutdown-grace"));
  set(out, "heartbeatIntervalMs", duration("heartbeat"));
  const wait = duration("poll-wait");
  set(out, "pollWaitSeconds", wait === undefined ? undefined : Math.max(1, Math.round(wait / 1000)));
  set(out, "hubRetryMaxMs", duration("hub-retry-max"));
  set(out, "toolRounds", number("tool-rounds"));
  const catalog = flat["tool-catalog"];
  if (catalog === true) out.toolCatalog = true;
  else if (typeof catalog === "string") {
    // From the environment: a word, since a boolean flag has no value.
    const word = catalog.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(word)) out.toolCatalog = true;
    else if (["0", "false", "no", "off"].includes(word)) out.toolCatalog = false;
    else throw new ConfigError(`${where("tool-catalog")}: expected 1/true/yes/on or 0/false/no/off`);
  }
  set(out, "spoolDir", str("spool-dir"));
  set(out, "healthFile", str("health-file"));
  set(out, "identity", str("identity"));
  set(out, "logLevel", str("log-level"));

  set(provider, "kind", str("provider"));
  set(provider, "model", str("model"));
  set(provider, "baseURL", str("base-url"));
  set(provider, "api", str("api"));
  set(provider, "maxTokens", number("max-tokens"));
  set(provider, "temperature", number("temperature"));
  set(provider, "system", str("system"));
  set(provider, "timeoutMs", duration("provider-timeout"));
  set(provider, "command", str("cli-command"));
  const args = flat["cli-arg"];
  if (Array.isArray(args)) provider.args = args;
  else if (typeof args === "string") {
    // From the environment: a JSON array, so arguments may contain commas and spaces.
    let parsed: unknown;
    try {
      parsed = JSON.parse(args);
    } catch {
      throw new ConfigError(`${where("cli-arg")}: expected a JSON array of strings`);
    }
    if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === "string")) {
      throw new ConfigError(`${where("cli-arg")}: expected a JSON array of strings`);
    }
    provider.args = parsed;
  }
  if (Object.keys(provider).length > 0) out.provider = provider;
  return out;
}

/**
 * API keys come from the environment or the config file, never from flags (which `ps` shows to
 * every user of the machine). `M3SHD_PROVIDER_API_KEY` works for any provider; the vendor's usual
 * variable works for its own provider only — an OpenAI key is never sent to a local server.
 */
function apiKeyFromEnv(kind: unknown, env: NodeJS.ProcessEnv): string | undefined {
  const generic = env.M3SHD_PROVIDER_API_KEY;
  if (generic) return generic;
  if (kind === "anthropic") return env.ANTHROPIC_API_KEY || undefined;
  if (kind === "openai") return env.OPENAI_API_KEY || undefined;
  if (kind === "grok") return env.XAI_API_KEY || undefined;
  return undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** `over` wins key by key; a provider of another kind replaces the lower provider entirely. */
function merge(under: Json, over: Json): Json {
  const out: Json = { ...under };
  for (const [key, value] of Object.entries(over)) {
    if (key === "provider" && isObject(value) && isObject(under.provider)) {
      const sameKind = value.kind === undefined || value.kind === under.provider.kind;
      out.provider = sameKind ? { ...under.provider, ...value } : { ...value };
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** The token in a file (its first line, trimmed); the message names the path, never the content. */
function readTokenFile(path: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`${what}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const token = (text.split(/\r?\n/)[0] ?? "").trim();
  if (!token) throw new ConfigError(`${what}: ${path} is empty`);
  return token;
}

function readConfigFile(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(
      `Cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? "error"}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`Config file ${path} is not valid JSON`);
  }
  if (!isObject(parsed)) throw new ConfigError(`Config file ${path} must hold a JSON object`);
  return parsed;
}

export type CliResult = { kind: "help" } | { kind: "version" } | { kind: "run"; config: WorkerConfig };

/**
 * The worker's configuration from argv, the environment and an optional JSON file. Precedence:
 * flags > environment > file > defaults. Throws `ConfigError` with a readable message.
 */
export function loadWorkerConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): CliResult {
  const options = Object.fromEntries(
    Object.entries(CLI_OPTIONS).map(([name, o]) => [
      name,
      {
        type: o.type,
        ...("multiple" in o ? { multiple: o.multiple } : {}),
        ...("short" in o ? { short: o.short } : {}),
      },
    ]),
  ) as Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }>;
  let values: Flat;
  try {
    values = parseArgs({ args: [...argv], options, allowPositionals: false, strict: true }).values as Flat;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\nRun m3shd-worker --help for the options.`);
  }
  if (values.help) return { kind: "help" };
  if (values.version) return { kind: "version" };

  const fromEnv: Flat = {};
  for (const [name, o] of Object.entries(CLI_OPTIONS)) {
    if (!("env" in o)) continue;
    const value = env[o.env];
    if (value !== undefined && value !== "") fromEnv[name as OptionName] = value;
  }
  const configPath = typeof values.config === "string" ? values.config : fromEnv.config;
  const fileLayer = typeof configPath === "string" ? readConfigFile(configPath) : {};
  let merged = merge(merge(fileLayer, layerFrom(fromEnv, "env")), layerFrom(values, "flag"));
  const provider = isObject(merged.provider) ? merged.provider : {};
  const key = apiKeyFromEnv(provider.kind, env);
  if (key !== undefined && provider.apiKey === undefined)
    merged = { ...merged, provider: { ...provider, apiKey: key } };
  if (!isObject(merged.provider)) {
    throw new ConfigError(
      "Invalid worker configuration:\n  provider: required (--provider or M3SHD_PROVIDER)",
    );
  }
  if (merged.identity === undefined) {
    const fallback = defaultIdentityPath(env);
    if (existsSync(fallback)) merged = { ...merged, identity: fallback };
  }
  // Test-only fault injection comes from the environment alone (never a flag or the config file).
  const corrupt = env.M3SHD_TEST_CORRUPT_RESULTS;
  if (corrupt) merged = { ...merged, testCorruptResults: parseList(corrupt) };
  if (env.M3SHD_TEST_CORRUPT_SIGNATURE === "1") merged = { ...merged, testCorruptSignature: true };
  const kind = isObject(merged.provider) ? merged.provider.kind : undefined;
  return { kind: "run", config: parseWorkerConfig(merged, (path) => describeConfigPath(path, kind)) };
}

/** The help text. */
export function usage(): string {
  const lines = Object.entries(CLI_OPTIONS).map(([name, o]) => {
    const flag = `--${name}${o.type === "string" ? " <value>" : ""}`;
    const env = "env" in o ? ` [${o.env}]` : "";
    return `  ${flag.padEnd(28)} ${o.help}${env}`;
  });
  return [
    "Usage: m3shd-worker --hub URL --id NAME --capabilities a,b --provider KIND [options]",
    "",
    "Joins this machine to an M3SHD mesh. Precedence: flags > environment > --config file.",
    "API keys come from ANTHROPIC_API_KEY / OPENAI_API_KEY / XAI_API_KEY (or M3SHD_PROVIDER_API_KEY),",
    "or `provider.apiKey` in the config file. Durations: 90s, 5m, 250ms (bare numbers are seconds).",
    "",
    ...lines,
  ].join("\n");
}
