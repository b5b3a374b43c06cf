import { isProviderError, ProviderError, toProviderError } from "./errors";
import type { Attempt, AttemptContext, AttemptResult } from "./types";

/** How a call is retried. Our loop is the only one: the SDKs run with `maxRetries: 0`. */
export interface RetryPolicy {
  /** Attempts in total, the first included (1 = no retries). */
  maxAttempts: number;
  /** First backoff ceiling; doubles per retry ("full jitter": the wait is uniform in [0, ceiling]). */
  baseDelayMs: number;
  /** Upper bound of the backoff ceiling. */
  maxDelayMs: number;
  /**
   * A `retry-after` longer than this is not waited out: the call fails (retryable) and the hub can
   * requeue the task, instead of a worker slot sitting idle for minutes.
   */
  maxRetryAfterMs: number;
}

export interface TimeoutPolicy {
  /** Wall-clock limit of one attempt, streaming included. */
  timeoutMs: number;
  /** Limit on silence between stream events (a hung connection); 0 disables it. */
  idleTimeoutMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 60_000,
};

export interface RetryDeps {
  /** Uniform in [0, 1); injectable so backoff tests are exact. */
  random?: () => number;
  /** Resolves after `ms`, rejects when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Resolves after `ms`; rejects with the signal's reason if it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The wait before retry number `retry` (1-based): full jitter over an exponentially growing
 * ceiling, but never less than what the provider asked for with `retry-after`.
 */
export function backoffDelay(
  retry: number,
  policy: Pick<RetryPolicy, "baseDelayMs" | "maxDelayMs">,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  const jittered = Math.floor(random() * ceiling);
  return retryAfterMs === undefined ? jittered : Math.max(retryAfterMs, jittered);
}

function abortedError(signal: AbortSignal): ProviderError {
  const reason = signal.reason;
  if (isProviderError(reason)) return reason;
  return new ProviderError("Call cancelled", { code: "aborted", retryable: false, cause: reason });
}

/**
 * Runs `attempt` until it succeeds, fails for good, or runs out of attempts. Retries only
 * retryable errors, and only while nothing has been streamed to the caller yet: once text went
 * out, a retry would stream it twice, so a mid-stream failure is returned (still marked
 * retryable, so the hub may requeue the task as a whole).
 */
export async function runWithRetry(
  attempt: Attempt,
  input: AttemptContext["input"],
  policy: RetryPolicy & TimeoutPolicy,
  deps: RetryDeps = {},
): Promise<AttemptResult & { attempts: number }> {
  const random = deps.random ?? Math.random;
  const wait = deps.sleep ?? sleep;
  const caller: AbortSignal | undefined = input.signal;
  let emitted = false;
  let settled = false;
  const onText = input.onText;

  for (let attemptNo = 1; ; attemptNo++) {
    if (caller?.aborted) throw withAttempts(abortedError(caller), attemptNo - 1);
    const local = new AbortController();
    const signal = caller ? AbortSignal.any([caller, local.signal]) : local.signal;
    const wall = setTimeout(
      () =>
        local.abort(
          new ProviderError(`Provider call timed out after ${policy.timeoutMs} ms`, {
            code: "timeout",
            retryable: true,
          }),
        ),
      policy.timeoutMs,
    );
    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      if (policy.idleTimeoutMs <= 0 || local.signal.aborted) return;
      if (idle) idle.refresh();
      else
        idle = setTimeout(
          () =>
            local.abort(
              new ProviderError(`No data from provider for ${policy.idleTimeoutMs} ms`, {
                code: "timeout",
                retryable: true,
              }),
            ),
          policy.idleTimeoutMs,
        );
    };
    touch();
    const ctx: AttemptContext = {
      input,
      signal,
      touch,
      emit(text: string) {
        if (text.length === 0 || settled || signal.aborted) return;
        emitted = true;
        touch();
        onText?.(text);
      },
    };
    let failure: ProviderError;
    try {
      const result = await attempt(ctx);
      // The SDKs end a stream quietly when their signal aborts; an aborted attempt is a failure.
      if (signal.aborted) throw signal.reason;
      settled = true;
      return { ...result, attempts: attemptNo };
    } catch (err) {
      if (caller?.aborted) failure = abortedError(caller);
      else if (local.signal.aborted) failure = abortedError(local.signal);
      else failure = toProviderError(err);
    } finally {
      clearTimeout(wall);
      if (idle) clearTimeout(idle);
      // Release whatever the attempt still holds (sockets, subprocesses) once it is over.
      if (!local.signal.aborted) {
        local.abort(new ProviderError("Attempt finished", { code: "aborted", retryable: false }));
      }
    }
    const giveUp =
      !failure.retryable ||
      emitted ||
      attemptNo >= policy.maxAttempts ||
      (failure.retryAfterMs !== undefined && failure.retryAfterMs > policy.maxRetryAfterMs);
    if (giveUp) {
      settled = true;
      throw withAttempts(failure, attemptNo);
    }
    try {
      await wait(backoffDelay(attemptNo, policy, failure.retryAfterMs, random), caller);
    } catch {
      settled = true;
      throw withAttempts(caller ? abortedError(caller) : failure, attemptNo);
    }
  }
}

function withAttempts(error: ProviderError, attempts: number): ProviderError {
  error.attempts = attempts;
  return error;
}
