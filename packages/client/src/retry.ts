/** How the client retries a request that failed in a way a later try may not. */
export interface RetryOptions {
  /** Retries after the first try (default 2: at most 3 tries). 0 disables retrying. */
  retries: number;
  /** First backoff step (default 250 ms); doubles per retry. */
  baseDelayMs: number;
  /** Ceiling of one backoff step (default 5 s). */
  maxDelayMs: number;
  /**
   * Longest `Retry-After` the client waits for (default 30 s). A server asking for longer gets
   * its error surfaced at once, with `retryAfterMs` on it, for the caller to schedule.
   */
  maxRetryAfterMs: number;
  /**
   * Retry transport failures (refused, reset, timeout) of idempotent methods (GET, HEAD, PUT,
   * DELETE, OPTIONS). Default true. A POST or PATCH is only retried after a transport failure
   * when the call says it is idempotent (`idempotent: true`): it may have reached the server.
   */
  networkErrors: boolean;
  /** Statuses retried for every method (default 429 and 503: the server did not process it). */
  statuses: readonly number[];
}

export const DEFAULT_RETRY: RetryOptions = {
  retries: 2,
  baseDelayMs: 250,
  maxDelayMs: 5000,
  maxRetryAfterMs: 30_000,
  networkErrors: true,
  statuses: [429, 503],
};

/** The methods whose repetition has the same effect as one request (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

/**
 * `Retry-After` in milliseconds: delta-seconds (`"120"`) or an HTTP date. `undefined` when absent
 * or unparsable; a date in the past is 0.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === "") return undefined;
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so retries from
 * many clients spread out but none comes back at once. `retry` counts from 1.
 */
export function backoffDelay(
  retry: number,
  options: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs">,
  random: () => number = Math.random,
): number {
  const step = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
