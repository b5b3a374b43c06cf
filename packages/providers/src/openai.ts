import OpenAI from "openai";
import { ProviderError } from "./errors";
import type { Attempt, AttemptContext, AttemptResult } from "./types";

/** Which OpenAI API a provider speaks. */
export type OpenAIApi = "chat" | "responses";

export interface OpenAIAdapterOptions {
  /** Local servers need no key; the SDK refuses an empty one, so a placeholder is sent instead. */
  apiKey: string;
  baseURL: string;
  api: OpenAIApi;
  timeoutMs: number;
  organization?: string | undefined;
  project?: string | undefined;
  /**
   * Ask Chat Completions for logprobs and report `exp(mean logprob)` as the confidence. Off by
   * default: reasoning models and many local servers reject or ignore it.
   */
  logprobs: boolean;
  /**
   * `max_completion_tokens` (OpenAI's current name) or `max_tokens` (what most OpenAI-compatible
   * local servers understand) for Chat Completions.
   */
  maxTokensField: "max_completion_tokens" | "max_tokens";
  fetch?: typeof fetch | undefined;
}

/**
 * OpenAI, Codex, Grok and local OpenAI-compatible servers through the official `openai` SDK,
 * streamed, over Chat Completions (with `stream_options.include_usage`) or the Responses API.
 */
export function openaiAttempt(options: OpenAIAdapterOptions): Attempt {
  const client = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    // Explicit nulls: the SDK would otherwise read OPENAI_ORG_ID / OPENAI_PROJECT_ID from the
    // environment and send them to whatever server this is (a local one included).
    organization: options.organization ?? null,
    project: options.project ?? null,
    maxRetries: 0, // our retry loop counts attempts once
    // The SDK would print to the console; failures reach the worker's structured log as errors.
    logLevel: "off",
    timeout: options.timeoutMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  return options.api === "responses"
    ? (ctx) => runResponses(client, ctx)
    : (ctx) => runChat(client, options, ctx);
}

async function runChat(
  client: OpenAI,
  options: OpenAIAdapterOptions,
  { input, signal, emit, touch }: AttemptContext,
): Promise<AttemptResult> {
  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [];
  if (input.system) messages.push({ role: "system", content: input.system });
  messages.push({ role: "user", content: input.prompt });
  const stream = await client.chat.completions.create(
    {
      model: input.model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
      ...(options.maxTokensField === "max_tokens"
        ? { max_tokens: input.maxTokens }
        : { max_completion_tokens: input.maxTokens }),
      ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
      ...(options.logprobs ? { logprobs: true } : {}),
    },
    { signal },
  );
  let output = "";
  let model = input.model;
  let stopReason: string | null = null;
  let usage: AttemptResult["usage"] = { input_tokens: 0, output_tokens: 0 };
  let usageReported = false;
  let logprobSum = 0;
  let logprobCount = 0;
  for await (const chunk of stream) {
    touch();
    if (chunk.model) model = chunk.model;
    for (const choice of chunk.choices ?? []) {
      if (choice.index !== 0) continue;
      const text = choice.delta?.content;
      if (text) {
        output += text;
        emit(text);
      }
      for (const lp of choice.logprobs?.content ?? []) {
        logprobSum += lp.logprob;
        logprobCount++;
      }
      if (choice.finish_reason) stopReason = choice.finish_reason;
    }
    if (chunk.usage) {
      const cached = chunk.usage.prompt_tokens_details?.cached_tokens ?? 0;
      usage = {
        input_tokens: chunk.usage.prompt_tokens,
        output_tokens: chunk.usage.completion_tokens,
        ...(cached > 0 ? { cached_input_tokens: cached } : {}),
      };
      usageReported = true;
    }
  }
  signal.throwIfAborted();
  if (stopReason === "content_filter") {
    throw new ProviderError("The provider filtered the response (finish_reason: content_filter)", {
      code: "refused",
      retryable: false,
    });
  }
  const confidence = logprobCount > 0 ? clamp01(Math.exp(logprobSum / logprobCount)) : null;
  return { output, usage, usageReported, model, confidence, stopReason };
}

async function runResponses(
  client: OpenAI,
  { input, signal, emit, touch }: AttemptContext,
): Promise<AttemptResult> {
  const stream = await client.responses.create(
    {
      model: input.model,
      input: input.prompt,
      ...(input.system ? { instructions: input.system } : {}),
      max_output_tokens: input.maxTokens,
      ...(input.temperature !== undefined ? { temperature: input.temperature } : {}),
      // Nothing to keep server-side: every task is a single self-contained call.
      store: false,
      stream: true,
    },
    { signal },
  );
  let output = "";
  let model = input.model;
  let stopReason: string | null = null;
  let usage: AttemptResult["usage"] = { input_tokens: 0, output_tokens: 0 };
  let usageReported = false;
  for await (const event of stream) {
    touch();
    switch (event.type) {
      case "response.created":
        model = event.response.model || model;
        break;
      case "response.output_text.delta":
        output += event.delta;
        emit(event.delta);
        break;
      case "response.completed":
      case "response.incomplete": {
        const r = event.response;
        model = r.model || model;
        stopReason =
          event.type === "response.completed" ? "completed" : (r.incomplete_details?.reason ?? "incomplete");
        if (r.usage) {
          const cached = r.usage.input_tokens_details?.cached_tokens ?? 0;
          usage = {
            input_tokens: r.usage.input_tokens,
            output_tokens: r.usage.output_tokens,
            ...(cached > 0 ? { cached_input_tokens: cached } : {}),
          };
          usageReported = true;
        }
        break;
      }
      case "response.failed": {
        const err = event.response.error;
        const transient = !err || err.code === "server_error" || err.code === "rate_limit_exceeded";
        throw new ProviderError(`Response failed: ${err?.message ?? "unknown error"}`, {
          code: transient ? "server_error" : "bad_request",
          retryable: transient,
        });
      }
      case "error": {
        // An `error` event has no `error` key, so the SDK yields it instead of throwing.
        const transient = event.code === null || /server|overloaded|rate_limit|timeout/i.test(event.code);
        throw new ProviderError(`Stream error: ${event.message}`, {
          code: transient ? "server_error" : "bad_request",
          retryable: transient,
        });
      }
      default:
        break;
    }
  }
  signal.throwIfAborted();
  if (stopReason === "content_filter") {
    throw new ProviderError("The provider filtered the response (content_filter)", {
      code: "refused",
      retryable: false,
    });
  }
  return { output, usage, usageReported, model, confidence: null, stopReason };
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, Math.round(value * 1e6) / 1e6));
}
