import { describe, expect, it } from "vitest";
import { ProviderError } from "./errors";
import { backoffDelay, runWithRetry, sleep } from "./retry";
import type { Attempt, AttemptResult } from "./types";

const ok: AttemptResult = {
  output: "ok",
  usage: { input_tokens: 1, output_tokens: 1 },
  usageReported: true,
  model: "m",
  confidence: null,
  stopReason: "stop",
};
const policy = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  maxRetryAfterMs: 5000,
  timeoutMs: 5000,
  idleTimeoutMs: 0,
};
const input = { prompt: "p", model: "m", maxTokens: 10 };
const transient = () => new ProviderError("busy", { code: "server_error", retryable: true, status: 503 });

describe("backoffDelay", () => {
  it("is full jitter under a doubling, capped ceiling", () => {
    const p = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, p, undefined, () => 0.999)).toBe(99);
    expect(backoffDelay(2, p, undefined, () => 0.5)).toBe(100);
    expect(backoffDelay(3, p, undefined, () => 0.5)).toBe(200);
    expect(backoffDelay(10, p, undefined, () => 0.999)).toBe(999);
    expect(backoffDelay(1, p, undefined, () => 0)).toBe(0);
  });

  it("never waits less than retry-after", () => {
    expect(backoffDelay(1, { baseDelayMs: 100, maxDelayMs: 1000 }, 2500, () => 0.5)).toBe(2500);
  });
});

describe("runWithRetry", () => {
  it("retries retryable failures with the computed waits, then succeeds", async () => {
    const waits: number[] = [];
    let calls = 0;
    const attempt: Attempt = async () => {
      calls++;
      if (calls < 3) throw transient();
      return ok;
    };
    const result = await runWithRetry(attempt, input, policy, {
      random: () => 0.5,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    expect(result.attempts).toBe(3);
    expect(waits).toEqual([50, 100]);
  });

  it("stops at a non-retryable failure", async () => {
    let calls = 0;
    const attempt: Attempt = async () => {
      calls++;
      throw new ProviderError("nope", { code: "bad_request", retryable: false });
    };
    await expect(runWithRetry(attempt, input, policy, { sleep: async () => {} })).rejects.toMatchObject({
      code: "bad_request",
      attempts: 1,
    });
    expect(calls).toBe(1);
  });

  it("maps foreign errors and gives up after maxAttempts", async () => {
    const attempt: Attempt = async () => {
      throw Object.assign(new Error("socket"), { code: "ECONNRESET" });
    };
    await expect(
      runWithRetry(attempt, input, { ...policy, maxAttempts: 2 }, { sleep: async () => {} }),
    ).rejects.toMatchObject({
      code: "network",
      retryable: true,
      attempts: 2,
    });
  });

  it("aborting during a backoff wait rejects as aborted without another attempt", async () => {
    const controller = new AbortController();
    let calls = 0;
    const attempt: Attempt = async () => {
      calls++;
      throw transient();
    };
    const run = runWithRetry(
      attempt,
      { ...input, signal: controller.signal },
      { ...policy, baseDelayMs: 10_000, maxDelayMs: 10_000 },
      {
        random: () => 0.99,
      },
    );
    setTimeout(() => controller.abort(), 20);
    await expect(run).rejects.toMatchObject({ code: "aborted", retryable: false, attempts: 1 });
    expect(calls).toBe(1);
  });

  it("ignores text emitted after the call settled", async () => {
    const seen: string[] = [];
    let late: ((t: string) => void) | undefined;
    const attempt: Attempt = async (ctx) => {
      ctx.emit("a");
      late = ctx.emit;
      return ok;
    };
    await runWithRetry(attempt, { ...input, onText: (t) => seen.push(t) }, policy);
    late?.("b");
    expect(seen).toEqual(["a"]);
  });

  it("an attempt that resolves after its signal aborted still counts as a failure", async () => {
    const attempt: Attempt = (ctx) =>
      new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve(ok), { once: true }));
    await expect(
      runWithRetry(attempt, input, { ...policy, maxAttempts: 1, timeoutMs: 50 }),
    ).rejects.toMatchObject({ code: "timeout", retryable: true });
  });
});

describe("sleep", () => {
  it("rejects with the abort reason", async () => {
    const controller = new AbortController();
    const reason = new Error("stop");
    const waiting = sleep(10_000, controller.signal);
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });
});
