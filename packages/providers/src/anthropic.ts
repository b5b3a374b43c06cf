import Anthropic from "@anthropic-ai/sdk";
import { ProviderError } from "./errors";
import type { Attempt, TokenUsage } from "./types";

export interface AnthropicAdapterOptions {
  apiKey: string;
  baseURL: string;
  timeoutMs: number;
  fetch?: typeof fetch | undefined;
}

/**
 * Claude through the official SDK's Messages API, streamed. Usage comes from the stream itself:
 * `message_start` carries the input side, `message_delta` the cumulative totals (its counts
 * replace, never add to, what came before). Anthropic reports cache reads and writes apart from
 * `input_tokens`; the hub counts all input in `input_tokens` with cache reads as a subset, so they
 * are summed here.
 *
 * `temperature` is not sent: the SDK speaks API version 2026-10-21, which answers 400 to any
 * sampling parameter, even at its default.
 */
export function anthropicAttempt(options: AnthropicAdapterOptions): Attempt {
  const client = new Anthropic({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    maxRetries: 0, // our retry loop counts attempts once
    // The SDK would print to the console; failures reach the worker's structured log as errors.
    logLevel: "off",
    timeout: options.timeoutMs,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });

  return async ({ input, signal, emit, touch }) => {
    const stream = await client.messages.create(
      {
        model: input.model,
        max_tokens: input.maxTokens,
        ...(input.system ? { system: input.system } : {}),
        messages: [{ role: "user", content: input.prompt }],
        stream: true,
      },
      { signal },
    );
    let output = "";
    let model = input.model;
    let stopReason: string | null = null;
    const raw = { input: 0, cacheRead: 0, cacheWrite: 0, output: 0 };
    let sawUsage = false;
    for await (const event of stream) {
      touch();
      switch (event.type) {
        case "message_start": {
          model = event.message.model || model;
          const u = event.message.usage;
          raw.input = u.input_tokens ?? 0;
          raw.cacheRead = u.cache_read_input_tokens ?? 0;
          raw.cacheWrite = u.cache_creation_input_tokens ?? 0;
          raw.output = u.output_tokens ?? 0;
          sawUsage = true;
          break;
        }
        case "content_block_delta":
          if (event.delta.type === "text_delta") {
            output += event.delta.text;
            emit(event.delta.text);
          }
          break;
        case "message_delta": {
          stopReason = event.delta.stop_reason ?? stopReason;
          const u = event.usage;
          // Cumulative counts: a non-null value replaces the earlier one.
          if (u.input_tokens !== null && u.input_tokens !== undefined) raw.input = u.input_tokens;
          if (u.cache_read_input_tokens !== null && u.cache_read_input_tokens !== undefined)
            raw.cacheRead = u.cache_read_input_tokens;
          if (u.cache_creation_input_tokens !== null && u.cache_creation_input_tokens !== undefined)
            raw.cacheWrite = u.cache_creation_input_tokens;
          raw.output = u.output_tokens;
          sawUsage = true;
          break;
        }
        default:
          break; // content_block_start/stop, message_stop, and event types newer than this code
      }
    }
    signal.throwIfAborted();
    if (stopReason === "refusal") {
      throw new ProviderError("The model refused the request (stop_reason: refusal)", {
        code: "refused",
        retryable: false,
      });
    }
    const usage: TokenUsage = {
      input_tokens: raw.input + raw.cacheRead + raw.cacheWrite,
      output_tokens: raw.output,
      ...(raw.cacheRead > 0 ? { cached_input_tokens: raw.cacheRead } : {}),
    };
    return { output, usage, usageReported: sawUsage, model, confidence: null, stopReason };
  };
}
