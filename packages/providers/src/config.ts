import { z } from "zod";
import { anthropicAttempt } from "./anthropic";
import { cliAttempt } from "./cli";
import { type CorruptOutput, jobsAttempt } from "./jobs";
import { openaiAttempt } from "./openai";
import { DEFAULT_PRICES, estimateCostUsd, PriceTableSchema } from "./pricing";
import { DEFAULT_RETRY_POLICY, type RetryDeps, runWithRetry } from "./retry";
import type { Attempt, Provider, ProviderKind, RunInput, RunResult } from "./types";

/** Default base URLs. Packages never read the environment: the worker passes overrides in. */
export const DEFAULT_BASE_URLS = {
  anthropic: "https://api.anthropic.com",
  openai: "https://api.openai.com/v1",
  grok: "https://api.x.ai/v1",
} as const;

/** Sent as the key to servers that need none: the `openai` SDK refuses to start without one. */
export const PLACEHOLDER_API_KEY = "no-key-required";

const RetrySchema = z.strictObject({
  maxAttempts: z.int().min(1).max(10).default(DEFAULT_RETRY_POLICY.maxAttempts),
  baseDelayMs: z.int().min(0).max(60_000).default(DEFAULT_RETRY_POLICY.baseDelayMs),
  maxDelayMs: z.int().min(0).max(600_000).default(DEFAULT_RETRY_POLICY.maxDelayMs),
  maxRetryAfterMs: z.int().min(0).max(3_600_000).default(DEFAULT_RETRY_POLICY.maxRetryAfterMs),
});

const common = {
  /** Model id sent to the provider. */
  model: z.string().trim().min(1).max(128),
  /** Default `max_tokens` / `max_output_tokens`. */
  maxTokens: z.int().min(1).max(1_000_000).default(4096),
  /** Default sampling temperature (not sent to `anthropic`, whose API version rejects it). */
  temperature: z.number().min(0).max(2).optional(),
  /** Default system prompt. */
  system: z
    .string()
    .max(64 * 1024)
    .optional(),
  /** Wall-clock limit of one attempt (default 10 min). */
  timeoutMs: z
    .int()
    .min(100)
    .max(6 * 3_600_000)
    .default(600_000),
  /** Silence between stream events that counts as a hung connection (default 2 min; 0 = off). */
  idleTimeoutMs: z.int().min(0).max(3_600_000).default(120_000),
  retry: RetrySchema.prefault({}),
  /** Extra or replacement prices (USD per million tokens), merged over the built-in table. */
  prices: PriceTableSchema.optional(),
};

const httpUrl = z.url({ protocol: /^https?$/ });

export const AnthropicConfigSchema = z.strictObject({
  kind: z.literal("anthropic"),
  apiKey: z.string().min(1),
  baseURL: httpUrl.default(DEFAULT_BASE_URLS.anthropic),
  ...common,
});

const openaiCommon = {
  /** `chat` (Chat Completions) or `responses` (the Responses API). */
  api: z.enum(["chat", "responses"]).default("chat"),
  /** Request logprobs (Chat Completions) and report exp(mean logprob) as confidence. */
  logprobs: z.boolean().default(false),
};

export const OpenAIConfigSchema = z.strictObject({
  kind: z.literal("openai"),
  apiKey: z.string().min(1),
  baseURL: httpUrl.default(DEFAULT_BASE_URLS.openai),
  organization: z.string().min(1).optional(),
  project: z.string().min(1).optional(),
  ...openaiCommon,
  ...common,
});

export const GrokConfigSchema = z.strictObject({
  kind: z.literal("grok"),
  apiKey: z.string().min(1),
  baseURL: httpUrl.default(DEFAULT_BASE_URLS.grok),
  ...openaiCommon,
  ...common,
});

export const OpenAICompatibleConfigSchema = z.strictObject({
  kind: z.literal("openai-compatible"),
  /** e.g. `http://127.0.0.1:11434/v1` (Ollama), `http://127.0.0.1:8080/v1` (llama.cpp server). */
  baseURL: httpUrl,
  /** Most local servers need none. */
  apiKey: z.string().min(1).optional(),
  ...openaiCommon,
  ...common,
  // Local models cost nothing per token unless the operator says otherwise.
  prices: PriceTableSchema.optional(),
});

export const CliConfigSchema = z.strictObject({
  kind: z.literal("cli"),
  /** Executable, e.g. `claude` or `/usr/local/bin/codex`. Never run through a shell. */
  command: z.string().min(1),
  /** Arguments as a list, e.g. `["--print"]` or `["exec", "-"]`. The prompt is NOT one of them. */
  args: z.array(z.string()).max(256).default([]),
  cwd: z.string().min(1).optional(),
  /** Extra environment variables for the subprocess. */
  env: z.record(z.string(), z.string()).default({}),
  /** Start from the worker's environment (needed by CLIs that read HOME and their own login). */
  inheritEnv: z.boolean().default(true),
  /** After SIGTERM, how long before SIGKILL. */
  killGraceMs: z.int().min(0).max(600_000).default(5_000),
  maxOutputBytes: z
    .int()
    .min(1)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  ...common,
  /** Reported as the model; the CLI chooses the real one. */
  model: z.string().trim().min(1).max(128).default("cli"),
  // CLI agents are often silent until they finish, and a re-run repeats side effects: no idle
  // timeout and no retries unless configured.
  idleTimeoutMs: z.int().min(0).max(3_600_000).default(0),
  retry: RetrySchema.prefault({ maxAttempts: 1 }),
});

export const JobsConfigSchema = z.strictObject({
  kind: z.literal("jobs"),
  ...common,
  model: z.string().trim().min(1).max(100).default("m3shd-jobs-1"),
  retry: RetrySchema.prefault({ maxAttempts: 1 }),
});

/** Configuration of one provider, discriminated on `kind`. */
export const ProviderConfigSchema = z.discriminatedUnion("kind", [
  AnthropicConfigSchema,
  OpenAIConfigSchema,
  GrokConfigSchema,
  OpenAICompatibleConfigSchema,
  CliConfigSchema,
  JobsConfigSchema,
]);
export type ProviderConfig = z.output<typeof ProviderConfigSchema>;
export type ProviderConfigInput = z.input<typeof ProviderConfigSchema>;

export interface ProviderDeps extends RetryDeps {
  /** `fetch` handed to the SDKs (tests, proxies). */
  fetch?: typeof fetch;
  /**
   * TEST ONLY: rewrites a `jobs` result before it is returned, to play a faulty or dishonest node
   * (the worker sets it from `M3SHD_TEST_CORRUPT_RESULTS`). Never set in production.
   */
  corruptJobOutput?: CorruptOutput;
}

function attemptFor(config: ProviderConfig, deps: ProviderDeps): Attempt {
  switch (config.kind) {
    case "anthropic":
      return anthropicAttempt({
        apiKey: config.apiKey,
        baseURL: config.baseURL,
        timeoutMs: config.timeoutMs,
        fetch: deps.fetch,
      });
    case "openai":
    case "grok":
    case "openai-compatible":
      return openaiAttempt({
        apiKey: config.apiKey ?? PLACEHOLDER_API_KEY,
        baseURL: config.baseURL,
        api: config.api,
        timeoutMs: config.timeoutMs,
        organization: config.kind === "openai" ? config.organization : undefined,
        project: config.kind === "openai" ? config.project : undefined,
        logprobs: config.logprobs,
        maxTokensField: config.kind === "openai-compatible" ? "max_tokens" : "max_completion_tokens",
        fetch: deps.fetch,
      });
    case "cli":
      return cliAttempt({
        command: config.command,
        args: config.args,
        cwd: config.cwd,
        env: config.inheritEnv ? { ...process.env, ...config.env } : { ...config.env },
        killGraceMs: config.killGraceMs,
        maxOutputBytes: config.maxOutputBytes,
        model: config.model,
      });
    case "jobs":
      return jobsAttempt(config.model, deps.corruptJobOutput);
    default: {
      const unreachable: never = config;
      throw new Error(`Unknown provider kind ${JSON.stringify(unreachable)}`);
    }
  }
}

/** A provider from its (validated or raw) config. Throws a `ZodError` on bad config. */
export function createProvider(
  input: ProviderConfigInput | ProviderConfig,
  deps: ProviderDeps = {},
): Provider {
  const config = ProviderConfigSchema.parse(input);
  const attempt = attemptFor(config, deps);
  const local = config.kind === "openai-compatible" || config.kind === "jobs";
  const prices = { ...(local ? {} : DEFAULT_PRICES), ...config.prices };
  const policy = { ...config.retry, timeoutMs: config.timeoutMs, idleTimeoutMs: config.idleTimeoutMs };
  const kind: ProviderKind = config.kind;
  return {
    kind,
    model: config.model,
    async run(input: RunInput): Promise<RunResult> {
      const model = input.model ?? config.model;
      const temperature = input.temperature ?? config.temperature;
      const system = input.system ?? config.system;
      const result = await runWithRetry(
        attempt,
        {
          ...input,
          model,
          maxTokens: input.maxTokens ?? config.maxTokens,
          ...(temperature !== undefined ? { temperature } : {}),
          ...(system !== undefined ? { system } : {}),
        },
        policy,
        deps,
      );
      // Local servers and jobs are free unless priced in config; unpriced hosted models are unknown.
      const cost = estimateCostUsd(result.model, result.usage, prices) ?? (local ? 0 : null);
      return { ...result, costUsd: cost };
    },
  };
}
