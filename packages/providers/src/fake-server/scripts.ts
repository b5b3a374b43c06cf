/** Which wire format a request spoke. */
export type FakeApi = "anthropic" | "chat" | "responses";

/** Token counts a scripted reply reports, in the hub's terms (cached ⊆ input). */
export interface FakeUsage {
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
}

/**
 * One scripted response. Scripts are consumed in order by matching requests; when none is queued
 * the server answers with its default reply.
 */
export type FakeScript =
  | {
      /** A successful streamed (or JSON) reply. */
      kind: "reply";
      /** Whole text; split into word-sized deltas unless `chunks` is given. */
      text?: string;
      /** Exact deltas, in order. */
      chunks?: string[];
      /** Pause before each delta (token-by-token streaming). */
      delayMs?: number;
      /** Pause before the response headers. */
      headersDelayMs?: number;
      usage?: Partial<FakeUsage>;
      /** Model named in the response (default: the requested model). */
      model?: string;
      /** Anthropic `stop_reason` / OpenAI `finish_reason` (defaults `end_turn` / `stop`). */
      stopReason?: string;
      /** Chat Completions logprob attached to every token when the request asks for logprobs. */
      logprob?: number;
      /**
       * Holds the stream after `gateAfterChunks` deltas until this settles, so a test decides
       * exactly when the model "finishes" (e.g. only once the hub is down).
       */
      gate?: Promise<unknown>;
      gateAfterChunks?: number;
    }
  | {
      /** An HTTP error in the provider's error body shape. */
      kind: "error";
      status: number;
      /** `retry-after` header, in seconds. */
      retryAfterSeconds?: number;
      /** `retry-after-ms` header (OpenAI extension). */
      retryAfterMs?: number;
      message?: string;
      /** Error type in the body (default derived from the status). */
      type?: string;
    }
  | {
      /** Sends headers and `afterChunks` deltas (0 = headers only), then never another byte. */
      kind: "hang";
      afterChunks?: number;
      /** Hang before sending any header. */
      beforeHeaders?: boolean;
    }
  | {
      /** Sends `afterChunks` deltas, then a frame whose JSON does not parse, then ends. */
      kind: "malformed";
      afterChunks?: number;
    }
  | {
      /** Sends `afterChunks` deltas, then the API's in-stream error event. */
      kind: "stream_error";
      afterChunks?: number;
      /** Anthropic error type / OpenAI error code (default `overloaded_error` / `server_error`). */
      errorType?: string;
      message?: string;
    }
  | {
      /** Sends `afterChunks` deltas, then destroys the socket. */
      kind: "disconnect";
      afterChunks?: number;
    }
  | {
      /** Replays bytes verbatim (e.g. a recorded transcript). */
      kind: "raw";
      body: string;
      status?: number;
      contentType?: string;
      headers?: Record<string, string>;
    };

/** Which requests a queued script may answer (all when empty). */
export interface ScriptMatch {
  api?: FakeApi;
  /** Requested model. */
  model?: string;
}

/** A request as the fake server saw it, for assertions on what the SDKs sent. */
export interface RecordedRequest {
  api: FakeApi | null;
  method: string;
  path: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Parsed JSON body (`null` when not JSON). */
  body: unknown;
  /** Kind of script that answered (`reply` for the default reply). */
  answeredWith: FakeScript["kind"] | "rejected";
  receivedAt: number;
}

/** What a default reply sees. */
export interface FakeRequestInfo {
  api: FakeApi;
  model: string;
  /** Text of the last user message / input. */
  prompt: string;
  system: string | null;
  body: Record<string, unknown>;
}
