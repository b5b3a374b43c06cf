/** Why a provider call failed. */
export const PROVIDER_ERROR_CODES = [
  "rate_limited", // 429
  "overloaded", // 529, or an `overloaded_error` in the stream
  "server_error", // 5xx, 408, 409, or an error event in the stream
  "network", // connection refused/reset, DNS, socket closed mid-stream
  "timeout", // the per-attempt or idle timeout fired
  "bad_response", // a malformed frame or body the SDK could not parse
  "bad_request", // 400/413/422: the request will never succeed as sent
  "auth", // 401/403: the key is missing, wrong or not allowed
  "not_found", // 404: usually an unknown model
  "refused", // the model refused (stop_reason `refusal`, finish_reason `content_filter`)
  "aborted", // the caller cancelled
  "invalid_input", // a `jobs` input that does not parse
  "process_failed", // a `cli` subprocess exited non-zero or could not start
  "output_too_large", // a `cli` subprocess wrote more than its limit
  "unknown",
] as const;
export type ProviderErrorCode = (typeof PROVIDER_ERROR_CODES)[number];

/**
 * Brand shared by every `ProviderError`, so `isProviderError` works across two copies of this
 * package (ESM + CJS, or two versions) where `instanceof` does not.
 */
const BRAND = Symbol.for("@m3shd/providers.error");

export interface ProviderErrorOptions {
  code: ProviderErrorCode;
  retryable: boolean;
  /** HTTP status of the provider response, when there was one. */
  status?: number | undefined;
  /** How long the provider asked us to wait (`retry-after-ms` / `retry-after`). */
  retryAfterMs?: number | undefined;
  /** Attempts made before giving up (set by the retry loop). */
  attempts?: number | undefined;
  cause?: unknown;
}

/** The one error every provider rejects with. `retryable` says whether another attempt may succeed. */
export class ProviderError extends Error {
  readonly code: ProviderErrorCode;
  readonly retryable: boolean;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  attempts: number | undefined;

  constructor(message: string, options: ProviderErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ProviderError";
    this.code = options.code;
    this.retryable = options.retryable;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.attempts = options.attempts;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** Whether `err` is a `ProviderError` from any copy of this package. */
export function isProviderError(err: unknown): err is ProviderError {
  return (
    err instanceof ProviderError ||
    (typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[BRAND] === true)
  );
}

type HeaderBag = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag | undefined | null, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The wait a response asks for, in ms: `retry-after-ms` (OpenAI's extension) first, then
 * `retry-after` as seconds or an HTTP date. `undefined` when absent or unparsable.
 */
export function parseRetryAfter(
  headers: HeaderBag | undefined | null,
  now: number = Date.now(),
): number | undefined {
  const ms = header(headers, "retry-after-ms");
  if (ms !== undefined) {
    const value = Number.parseFloat(ms);
    if (Number.isFinite(value) && value >= 0) return Math.ceil(value);
  }
  const raw = header(headers, "retry-after");
  if (raw === undefined) return undefined;
  const seconds = Number(raw.trim());
  if (raw.trim() !== "" && Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(raw);
  if (Number.isFinite(date)) return Math.max(0, date - now);
  return undefined;
}

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

function causeChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    out.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return out;
}

function isNetworkError(err: unknown): boolean {
  return causeChain(err).some((e) => {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
    const message = e instanceof Error ? e.message : "";
    return /fetch failed|\bterminated\b|socket hang up|other side closed|network error/i.test(message);
  });
}

/** Error `type`s inside a stream's error event that are worth another attempt. */
const RETRYABLE_STREAM_TYPES = new Set([
  "overloaded_error",
  "api_error",
  "rate_limit_error",
  "server_error",
  "timeout_error",
]);

function fromStatus(status: number, message: string, retryAfterMs: number | undefined, cause: unknown) {
  const base = { status, retryAfterMs, cause };
  if (status === 429) return new ProviderError(message, { ...base, code: "rate_limited", retryable: true });
  if (status === 529) return new ProviderError(message, { ...base, code: "overloaded", retryable: true });
  if (status >= 500 || status === 408 || status === 409) {
    return new ProviderError(message, { ...base, code: "server_error", retryable: true });
  }
  if (status === 401 || status === 403)
    return new ProviderError(message, { ...base, code: "auth", retryable: false });
  if (status === 404) return new ProviderError(message, { ...base, code: "not_found", retryable: false });
  return new ProviderError(message, { ...base, code: "bad_request", retryable: false });
}

/**
 * Maps anything an SDK (or fetch, or our own code) throws to a `ProviderError`. Duck-typed on
 * the Stainless SDKs' shape (`status`, `headers`, `error`) so it covers both official SDKs.
 */
export function toProviderError(err: unknown): ProviderError {
  if (isProviderError(err)) return err;
  const e = err as { status?: unknown; headers?: HeaderBag; name?: unknown; error?: unknown; type?: unknown };
  const message = err instanceof Error ? err.message : String(err);
  // Anthropic's SDK sets `name` on its error classes; OpenAI's leaves it "Error", so fall back to
  // the class name (both SDKs ship unminified classes).
  const ownName = typeof e?.name === "string" ? e.name : "";
  const className = (err as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  const name = ownName && ownName !== "Error" ? ownName : typeof className === "string" ? className : ownName;
  if (typeof e?.status === "number") {
    return fromStatus(e.status, message, parseRetryAfter(e.headers), err);
  }
  if (name === "APIUserAbortError" || name === "AbortError") {
    return new ProviderError("Request aborted", { code: "aborted", retryable: false, cause: err });
  }
  if (name === "APIConnectionTimeoutError") {
    return new ProviderError(message, { code: "timeout", retryable: true, cause: err });
  }
  if (err instanceof SyntaxError) {
    return new ProviderError(`Malformed response from provider: ${message}`, {
      code: "bad_response",
      retryable: true,
      cause: err,
    });
  }
  if (name === "APIConnectionError" || isNetworkError(err)) {
    return new ProviderError(message, { code: "network", retryable: true, cause: err });
  }
  if (name === "APIError") {
    // An error event inside a stream (no HTTP status): Anthropic `event: error`, an OpenAI chunk
    // with an `error` key. The body's type says whether it is transient.
    const body = e.error as
      | { error?: { type?: unknown; code?: unknown }; type?: unknown; code?: unknown }
      | undefined;
    const type = String(body?.error?.type ?? body?.type ?? e.type ?? body?.code ?? "");
    const retryable = type === "" || RETRYABLE_STREAM_TYPES.has(type);
    const code = type === "overloaded_error" ? "overloaded" : retryable ? "server_error" : "bad_request";
    return new ProviderError(message, { code, retryable, cause: err });
  }
  return new ProviderError(message || "Unknown provider error", {
    code: "unknown",
    retryable: false,
    cause: err,
  });
}
