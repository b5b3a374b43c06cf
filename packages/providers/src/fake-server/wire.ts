import type { FakeApi, FakeUsage } from "./scripts";

/** Everything a wire format needs to render one response. */
export interface ReplyContext {
  api: FakeApi;
  /** Response id (`msg_…`, `chatcmpl-…`, `resp_…`). */
  id: string;
  /** Model named in the response. */
  model: string;
  created: number;
  usage: FakeUsage;
  stopReason: string | null;
  /** Chat Completions: the request set `stream_options.include_usage`. */
  includeUsage: boolean;
  /** Chat Completions: logprob per token, when the request asked for logprobs. */
  logprob: number | null;
  /** Full text (for frames that repeat it: `output_text.done`, `response.completed`). */
  text: string;
  /** Responses API instructions echoed back. */
  instructions: string | null;
}

/** A wire format: the frames of a streamed reply, its error bodies and its non-streamed reply. */
export interface WireFormat {
  head(ctx: ReplyContext): string[];
  delta(ctx: ReplyContext, text: string): string;
  tail(ctx: ReplyContext): string[];
  /** The API's in-stream error event. */
  streamError(ctx: ReplyContext, type: string | undefined, message: string): string;
  /** A frame whose JSON does not parse. */
  malformed(ctx: ReplyContext): string;
  errorBody(status: number, message: string, type: string | undefined, requestId: string): unknown;
  json(ctx: ReplyContext): unknown;
}

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
const dataOnly = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

function anthropicErrorType(status: number): string {
  if (status === 400 || status === 413 || status === 422) return "invalid_request_error";
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status === 529) return "overloaded_error";
  return "api_error";
}

/**
 * Anthropic Messages SSE, in the order of the recorded transcript
 * (`vectors/llm/anthropic-stream.txt`): message_start → content_block_start → ping →
 * content_block_delta… → content_block_stop → message_delta (cumulative usage) → message_stop.
 * Anthropic counts cache reads apart from `input_tokens`, so the hub-style usage is split here.
 */
export const anthropicWire: WireFormat = {
  head(ctx) {
    return [
      sse("message_start", {
        type: "message_start",
        message: {
          id: ctx.id,
          type: "message",
          role: "assistant",
          model: ctx.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: {
            input_tokens: ctx.usage.input_tokens - ctx.usage.cached_input_tokens,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: ctx.usage.cached_input_tokens,
            output_tokens: 1,
            service_tier: "standard",
          },
        },
      }),
      sse("content_block_start", {
        type: "content_block_start",
        index: 0,
        content_block: { type: "text", text: "" },
      }),
      // The recording has a space after the colon; clients must ignore pings wherever they appear.
      'event: ping\ndata: {"type": "ping"}\n\n',
    ];
  },
  delta(_ctx, text) {
    return sse("content_block_delta", {
      type: "content_block_delta",
      index: 0,
      delta: { type: "text_delta", text },
    });
  },
  tail(ctx) {
    return [
      sse("content_block_stop", { type: "content_block_stop", index: 0 }),
      sse("message_delta", {
        type: "message_delta",
        delta: { stop_reason: ctx.stopReason ?? "end_turn", stop_sequence: null },
        usage: { output_tokens: ctx.usage.output_tokens },
      }),
      sse("message_stop", { type: "message_stop" }),
    ];
  },
  streamError(_ctx, type, message) {
    return sse("error", { type: "error", error: { type: type ?? "overloaded_error", message } });
  },
  malformed() {
    return 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_de\n\n';
  },
  errorBody(status, message, type, requestId) {
    return {
      type: "error",
      error: { type: type ?? anthropicErrorType(status), message },
      request_id: requestId,
    };
  },
  json(ctx) {
    return {
      id: ctx.id,
      type: "message",
      role: "assistant",
      model: ctx.model,
      content: [{ type: "text", text: ctx.text }],
      stop_reason: ctx.stopReason ?? "end_turn",
      stop_sequence: null,
      usage: {
        input_tokens: ctx.usage.input_tokens - ctx.usage.cached_input_tokens,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: ctx.usage.cached_input_tokens,
        output_tokens: ctx.usage.output_tokens,
      },
    };
  },
};

function openaiErrorFields(status: number, type: string | undefined) {
  if (status === 429) return { type: type ?? "requests", code: "rate_limit_exceeded" };
  if (status === 401) return { type: type ?? "invalid_request_error", code: "invalid_api_key" };
  if (status === 404) return { type: type ?? "invalid_request_error", code: "model_not_found" };
  if (status >= 500) return { type: type ?? "server_error", code: null };
  return { type: type ?? "invalid_request_error", code: null };
}

function chatUsage(usage: FakeUsage) {
  return {
    prompt_tokens: usage.input_tokens,
    completion_tokens: usage.output_tokens,
    total_tokens: usage.input_tokens + usage.output_tokens,
    prompt_tokens_details: { cached_tokens: usage.cached_input_tokens, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

function chatChunk(ctx: ReplyContext, choices: unknown[], extra: Record<string, unknown> = {}) {
  return dataOnly({
    id: ctx.id,
    object: "chat.completion.chunk",
    created: ctx.created,
    model: ctx.model,
    system_fingerprint: "fp_fake",
    choices,
    // With include_usage every chunk carries `usage`, null until the last one (the SDK docstring).
    ...(ctx.includeUsage ? { usage: null } : {}),
    ...extra,
  });
}

/**
 * OpenAI Chat Completions SSE, as in `vectors/llm/openai-stream.txt`: `data:` lines only, a role
 * chunk, content chunks, a `finish_reason` chunk, with include_usage a usage-only chunk
 * (`choices: []`), then `data: [DONE]`.
 */
export const chatWire: WireFormat = {
  head(ctx) {
    return [
      chatChunk(ctx, [
        {
          index: 0,
          delta: { role: "assistant", content: "", refusal: null },
          logprobs: null,
          finish_reason: null,
        },
      ]),
    ];
  },
  delta(ctx, text) {
    const logprobs =
      ctx.logprob === null
        ? null
        : { content: [{ token: text, logprob: ctx.logprob, bytes: null, top_logprobs: [] }], refusal: null };
    return chatChunk(ctx, [{ index: 0, delta: { content: text }, logprobs, finish_reason: null }]);
  },
  tail(ctx) {
    const frames = [
      chatChunk(ctx, [{ index: 0, delta: {}, logprobs: null, finish_reason: ctx.stopReason ?? "stop" }]),
    ];
    if (ctx.includeUsage) frames.push(chatChunk(ctx, [], { usage: chatUsage(ctx.usage) }));
    frames.push("data: [DONE]\n\n");
    return frames;
  },
  streamError(_ctx, type, message) {
    // The SDK throws when a chunk's JSON has an `error` key.
    return dataOnly({ error: { message, type: type ?? "server_error", param: null, code: type ?? null } });
  },
  malformed(ctx) {
    return `data: {"id":"${ctx.id}","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"\n\n`;
  },
  errorBody(status, message, type) {
    return { error: { message, ...openaiErrorFields(status, type), param: null } };
  },
  json(ctx) {
    return {
      id: ctx.id,
      object: "chat.completion",
      created: ctx.created,
      model: ctx.model,
      system_fingerprint: "fp_fake",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: ctx.text, refusal: null },
          logprobs: null,
          finish_reason: ctx.stopReason ?? "stop",
        },
      ],
      usage: chatUsage(ctx.usage),
    };
  },
};

function responseObject(ctx: ReplyContext, status: "in_progress" | "completed", withOutput: boolean) {
  return {
    id: ctx.id,
    object: "response",
    created_at: ctx.created,
    status,
    model: ctx.model,
    instructions: ctx.instructions,
    output: withOutput ? [messageItem(ctx, "completed")] : [],
    parallel_tool_calls: true,
    tool_choice: "auto",
    tools: [],
    error: null,
    incomplete_details: null,
    usage: withOutput
      ? {
          input_tokens: ctx.usage.input_tokens,
          input_tokens_details: { cached_tokens: ctx.usage.cached_input_tokens, cache_write_tokens: 0 },
          output_tokens: ctx.usage.output_tokens,
          output_tokens_details: { reasoning_tokens: 0 },
          total_tokens: ctx.usage.input_tokens + ctx.usage.output_tokens,
        }
      : null,
  };
}

function messageItem(ctx: ReplyContext, status: "in_progress" | "completed") {
  return {
    id: `msg_${ctx.id.slice(5)}`,
    type: "message",
    status,
    role: "assistant",
    content:
      status === "completed" ? [{ type: "output_text", text: ctx.text, annotations: [], logprobs: [] }] : [],
  };
}

/** Responses API SSE: named events with increasing `sequence_number`, ending in `response.completed`. */
export function responsesWire(): WireFormat {
  let seq = 0;
  const ev = (type: string, data: Record<string, unknown>) =>
    sse(type, { type, sequence_number: seq++, ...data });
  const itemRef = (ctx: ReplyContext) => ({
    item_id: `msg_${ctx.id.slice(5)}`,
    output_index: 0,
    content_index: 0,
  });
  return {
    head(ctx) {
      return [
        ev("response.created", { response: responseObject(ctx, "in_progress", false) }),
        ev("response.in_progress", { response: responseObject(ctx, "in_progress", false) }),
        ev("response.output_item.added", { output_index: 0, item: messageItem(ctx, "in_progress") }),
        ev("response.content_part.added", {
          ...itemRef(ctx),
          part: { type: "output_text", text: "", annotations: [] },
        }),
      ];
    },
    delta(ctx, text) {
      return ev("response.output_text.delta", { ...itemRef(ctx), delta: text, logprobs: [] });
    },
    tail(ctx) {
      return [
        ev("response.output_text.done", { ...itemRef(ctx), text: ctx.text, logprobs: [] }),
        ev("response.content_part.done", {
          ...itemRef(ctx),
          part: { type: "output_text", text: ctx.text, annotations: [] },
        }),
        ev("response.output_item.done", { output_index: 0, item: messageItem(ctx, "completed") }),
        ev("response.completed", { response: responseObject(ctx, "completed", true) }),
      ];
    },
    streamError(_ctx, type, message) {
      return ev("error", { code: type ?? "server_error", message, param: null });
    },
    malformed() {
      return 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":\n\n';
    },
    errorBody(status, message, type) {
      return { error: { message, ...openaiErrorFields(status, type), param: null } };
    },
    json(ctx) {
      return responseObject(ctx, "completed", true);
    },
  };
}
