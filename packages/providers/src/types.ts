import type { Usage } from "@m3shd/protocol";

/** Provider adapters this package ships. The worker registers with this name as its `provider`. */
export const PROVIDER_KINDS = ["anthropic", "openai", "grok", "openai-compatible", "cli", "jobs"] as const;
export type ProviderKind = (typeof PROVIDER_KINDS)[number];

/**
 * Token usage of one call, in the hub's terms (`@m3shd/protocol` `Usage`, so a result goes into a
 * completion unchanged): `input_tokens` counts every input token, cached or not;
 * `cached_input_tokens` is the subset served from the provider's prompt cache, priced separately.
 */
export type TokenUsage = Usage;

/** One model call. Everything but `prompt` has a default from the provider's config. */
export interface RunInput {
  prompt: string;
  /** System prompt / instructions. */
  system?: string;
  /** Model to call; the provider's configured model when omitted. */
  model?: string;
  maxTokens?: number;
  /** Sampling temperature. Ignored by `anthropic` (API version 2026-10-21 rejects it), `cli` and `jobs`. */
  temperature?: number;
  /** Cancels the call: the request is aborted (or the subprocess killed) and `run` rejects. */
  signal?: AbortSignal;
  /** Called with each piece of text as it streams in. Never called again after `run` settles. */
  onText?: (chunk: string) => void;
  /** The task's required capability; `jobs` uses it to pick the job for a plain-text prompt. */
  capability?: string;
}

/** What a finished call produced. */
export interface RunResult {
  output: string;
  usage: TokenUsage;
  /** False when the provider did not report usage (a local server without usage chunks, a CLI). */
  usageReported: boolean;
  /** The model that answered, as the provider named it (may be a dated snapshot of the requested one). */
  model: string;
  /** Estimated cost from the price table; `null` when the model has no price. */
  costUsd: number | null;
  /** 0…1 when the provider gives one (OpenAI logprobs, deterministic jobs); otherwise `null`. */
  confidence: number | null;
  /** Why generation stopped (`end_turn`, `stop`, `max_tokens`, `length`, `exit 0`…), when known. */
  stopReason: string | null;
  /** HTTP attempts (or subprocess runs) made, retries included. */
  attempts: number;
}

/** A configured model provider. */
export interface Provider {
  readonly kind: ProviderKind;
  /** The configured default model. */
  readonly model: string;
  /** Runs one call with retries, timeouts and cancellation. Rejects with a `ProviderError`. */
  run(input: RunInput): Promise<RunResult>;
}

/** What one attempt of an adapter sees. The retry loop owns timeouts, cancellation and backoff. */
export interface AttemptContext {
  input: RunInput & { model: string; maxTokens: number };
  /** Aborts on caller cancellation, the per-attempt timeout, or the idle timeout. */
  signal: AbortSignal;
  /** Streams text to the caller; after the first call this attempt is no longer retried. */
  emit(text: string): void;
  /** Marks activity (any stream event) so the idle timer restarts. */
  touch(): void;
}

/** What one successful attempt produced, before pricing. */
export interface AttemptResult {
  output: string;
  usage: TokenUsage;
  usageReported: boolean;
  model: string;
  confidence: number | null;
  stopReason: string | null;
}

/** One attempt of an adapter. */
export type Attempt = (ctx: AttemptContext) => Promise<AttemptResult>;
