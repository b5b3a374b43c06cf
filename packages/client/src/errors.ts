import {
  ConflictError,
  ErrorBodySchema,
  type ErrorCode,
  ForbiddenError,
  IllegalTransitionError,
  isM3shdError,
  LimitExceededError,
  M3shdError,
  NotFoundError,
  RateLimitedError,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
} from "@m3shd/protocol";

/**
 * What the client adds to a protocol error rebuilt from a response: the HTTP status it came with
 * (it may differ from the code's usual status, e.g. a 502 from a proxy), the hub's request id, the
 * request that failed, and the parsed `Retry-After` when there was one.
 */
export interface HubErrorInfo {
  /** The response's HTTP status. */
  readonly status: number;
  /** `request_id` from the envelope (or the `x-request-id` header): quote it when reporting. */
  readonly requestId: string | undefined;
  /** `"METHOD /path"` of the failed request. */
  readonly request: string;
  /** Milliseconds the server asked to wait (`Retry-After`), when it said. */
  readonly retryAfterMs: number | undefined;
}

/** A protocol error (`NotFoundError`, `ConflictError`…) the hub answered with. */
export type HubError = M3shdError & HubErrorInfo;

const HUB_ERROR = Symbol.for("@m3shd/client.hub-error");

// The protocol's typed errors by code. Codes without their own class stay plain `M3shdError`.
const ERROR_CLASSES: Partial<Record<ErrorCode, { prototype: M3shdError; name: string }>> = {
  validation_failed: ValidationError,
  unauthorized: UnauthorizedError,
  forbidden: ForbiddenError,
  not_found: NotFoundError,
  conflict: ConflictError,
  illegal_transition: IllegalTransitionError,
  payload_too_large: LimitExceededError,
  rate_limited: RateLimitedError,
  unavailable: UnavailableError,
};

/** The code a bare status implies, for error responses without the envelope (a proxy's 502). */
function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return "bad_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
    case 410:
      return "not_found";
    case 409:
      return "conflict";
    case 413:
      return "payload_too_large";
    case 415:
      return "unsupported_media_type";
    case 422:
      return "validation_failed";
    case 429:
      return "rate_limited";
    case 502:
    case 503:
    case 504:
      return "unavailable";
    default:
      return status >= 500 ? "internal" : "bad_request";
  }
}

/**
 * Rebuilds the protocol's typed error from an error response: the class for its code (so
 * `err instanceof NotFoundError` holds), the server's own message and details, and the status,
 * request id and `Retry-After` as own properties. The domain constructors build their messages
 * from arguments the wire does not carry, so the instance is made with the base constructor and
 * given the subclass prototype, with the subclass fields (`from`/`to`, `retryAfterSeconds`)
 * restored from `details`.
 */
export function errorFromResponse(
  json: unknown,
  meta: {
    status: number;
    request: string;
    requestId?: string | undefined;
    retryAfterMs?: number | undefined;
  },
): HubError {
  const parsed = ErrorBodySchema.safeParse(json);
  const code = parsed.success ? parsed.data.error.code : codeForStatus(meta.status);
  const message = parsed.success
    ? parsed.data.error.message
    : `HTTP ${meta.status} without an error envelope`;
  const details = parsed.success ? parsed.data.error.details : undefined;
  const err = new M3shdError(code, `${meta.request}: ${meta.status} ${message}`, details);
  const cls = ERROR_CLASSES[code];
  if (cls) {
    Object.setPrototypeOf(err, cls.prototype);
    err.name = cls.name;
  }
  const record = (details ?? {}) as Record<string, unknown>;
  if (code === "illegal_transition") {
    Object.assign(err, { from: record.from, to: record.to });
  }
  if (code === "rate_limited") {
    const seconds =
      typeof record.retry_after_s === "number"
        ? record.retry_after_s
        : meta.retryAfterMs !== undefined
          ? meta.retryAfterMs / 1000
          : 0;
    Object.assign(err, { retryAfterSeconds: seconds });
  }
  const info: HubErrorInfo = {
    status: meta.status,
    requestId: (parsed.success ? parsed.data.error.request_id : undefined) ?? meta.requestId,
    request: meta.request,
    retryAfterMs: meta.retryAfterMs,
  };
  // Own properties shadow M3shdError's `status` getter (the code's usual status).
  for (const [key, value] of Object.entries(info)) {
    Object.defineProperty(err, key, { value, enumerable: true });
  }
  Object.defineProperty(err, HUB_ERROR, { value: true });
  return err as HubError;
}

/** Whether `err` is a protocol error the hub answered with (see `HubError`). */
export function isHubError(err: unknown): err is HubError {
  return isM3shdError(err) && (err as unknown as Record<symbol, unknown>)[HUB_ERROR] === true;
}

/**
 * The hub answered 2xx, but not as its route declares: an undeclared status, a body that is not
 * JSON, or one that fails its schema. The request may have taken effect.
 */
export class BadResponseError extends Error {
  readonly code = "bad_response" as const;
  readonly status: number;
  readonly request: string;
  readonly requestId: string | undefined;
  /** `{ issues }` when the body failed its schema. */
  readonly details: unknown;

  constructor(
    message: string,
    meta: { status: number; request: string; requestId?: string | undefined; details?: unknown },
  ) {
    super(`${meta.request}: ${message}`);
    this.name = "BadResponseError";
    this.status = meta.status;
    this.request = meta.request;
    this.requestId = meta.requestId;
    this.details = meta.details;
  }
}

/**
 * The hub could not be reached or did not answer in time: connection refused or reset, DNS,
 * TLS, a timeout, or the connection dropping mid-response. Nothing is known about whether the
 * request took effect.
 */
export class HubUnreachableError extends Error {
  readonly code = "unreachable" as const;
  /** No HTTP status: the exchange did not complete. */
  readonly status = 0;
  readonly request: string;
  /** The request ran past its `timeoutMs`. */
  readonly timedOut: boolean;

  constructor(request: string, reason: string, options: { cause?: unknown; timedOut?: boolean } = {}) {
    super(`${request}: hub unreachable (${reason})`, { cause: options.cause });
    this.name = "HubUnreachableError";
    this.request = request;
    this.timedOut = options.timedOut ?? false;
  }
}

/** Any error the client raises for a failed exchange (not an abort by the caller). */
export type ClientError = HubError | BadResponseError | HubUnreachableError;

/**
 * Whether repeating the same request later may succeed: the hub was unreachable, overloaded or
 * failing (5xx), rate-limited, or timed out (408).
 */
export function isTransientError(err: unknown): boolean {
  if (err instanceof HubUnreachableError) return true;
  if (isHubError(err)) return err.status >= 500 || err.status === 429 || err.status === 408;
  return false;
}

/** A short reason for a transport failure: the errno-style code when one is found. */
export function describeCause(err: unknown): string {
  let current: unknown = err;
  for (let i = 0; i < 5 && current; i++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code !== "ABORT_ERR") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.message : String(err);
}
