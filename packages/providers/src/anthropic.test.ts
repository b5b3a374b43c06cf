import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createProvider } from "./config";
import { isProviderError, type ProviderError } from "./errors";
import { type FakeProviderServer, startFakeProviderServer } from "./fake-server";
import type { ProviderConfigInput } from "./index";

let fake: FakeProviderServer;
beforeAll(async () => {
  fake = await startFakeProviderServer({ apiKeys: ["sk-ant-test"] });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

/** Fast retries so fault tests run in milliseconds; real defaults are in the config schema. */
function claude(overrides: Partial<Extract<ProviderConfigInput, { kind: "anthropic" }>> = {}) {
  return createProvider({
    kind: "anthropic",
    apiKey: "sk-ant-test",
    baseURL: fake.url,
    model: "claude-sonnet-5-5",
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    ...overrides,
  });
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const err = await promise.then(
    () => {
      throw new Error("expected a rejection");
    },
    (e: unknown) => e,
  );
  if (!isProviderError(err)) throw err;
  return err;
}

describe("anthropic provider", () => {
  it("streams text, reports usage (cache reads included in input) and prices it", async () => {
    fake.enqueue({
      kind: "reply",
      chunks: ["Hel", "lo", " world"],
      usage: { input_tokens: 1200, cached_input_tokens: 1000, output_tokens: 3 },
      model: "claude-sonnet-5-5-20260901",
    });
    const pieces: string[] = [];
    const result = await claude().run({ prompt: "Say hello", onText: (t) => pieces.push(t) });
    expect(pieces).toEqual(["Hel", "lo", " world"]);
    expect(result).toMatchObject({
      output: "Hello world",
      model: "claude-sonnet-5-5-20260901",
      usage: { input_tokens: 1200, output_tokens: 3, cached_input_tokens: 1000 },
      usageReported: true,
      stopReason: "end_turn",
      attempts: 1,
      confidence: null,
    });
    // 200 uncached × $2 + 1000 cached × $0.10 + 3 × $10, per million.
    expect(result.costUsd).toBeCloseTo((200 * 2 + 1000 * 0.1 + 3 * 10) / 1e6, 12);
  });

  it("sends the Messages request we expect: system, max_tokens, streaming, bearer key, API version", async () => {
    await claude({ maxTokens: 321 }).run({ prompt: "Q", system: "Be terse", temperature: 0.3 });
    const [req] = fake.requests;
    expect(req?.headers.authorization).toBe("Bearer sk-ant-test");
    expect(req?.headers["anthropic-version"]).toBe("2026-10-21");
    // SDK retries are off: the header says this is the first try.
    expect(req?.headers["x-stainless-retry-count"]).toBe("0");
    expect(req?.body).toEqual({
      model: "claude-sonnet-5-5",
      max_tokens: 321,
      system: "Be terse",
      messages: [{ role: "user", content: "Q" }],
      stream: true,
    });
  });

  it("retries a 429 after its retry-after and then succeeds", async () => {
    fake.enqueue([
      { kind: "error", status: 429, retryAfterSeconds: 0.2 },
      { kind: "reply", text: "ok" },
    ]);
    const started = Date.now();
    const result = await claude().run({ prompt: "x" });
    expect(result.output).toBe("ok");
    expect(result.attempts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(fake.requests.map((r) => r.answeredWith)).toEqual(["error", "reply"]);
  });

  it("retries 5xx and 529 and gives up after maxAttempts with a retryable error", async () => {
    fake.enqueue([
      { kind: "error", status: 500 },
      { kind: "error", status: 529 },
      { kind: "error", status: 503 },
    ]);
    const err = await rejection(claude().run({ prompt: "x" }));
    expect(err).toMatchObject({ code: "server_error", retryable: true, status: 503, attempts: 3 });
    expect(fake.requests).toHaveLength(3);
  });

  it("does not retry a bad key", async () => {
    const err = await rejection(claude({ apiKey: "wrong" }).run({ prompt: "x" }));
    expect(err).toMatchObject({ code: "auth", retryable: false, status: 401, attempts: 1 });
  });

  it("does not wait out a retry-after longer than maxRetryAfterMs", async () => {
    fake.enqueue({ kind: "error", status: 429, retryAfterSeconds: 120 });
    const err = await rejection(claude().run({ prompt: "x" }));
    expect(err).toMatchObject({ code: "rate_limited", retryable: true, retryAfterMs: 120_000, attempts: 1 });
  });

  it("treats a connection that goes silent as hung: idle timeout, then a retry", async () => {
    fake.enqueue([
      { kind: "hang", afterChunks: 0 },
      { kind: "reply", text: "after hang" },
    ]);
    const result = await claude({ idleTimeoutMs: 150 }).run({ prompt: "x" });
    expect(result).toMatchObject({ output: "after hang", attempts: 2 });
  });

  it("times out an attempt that never answers", async () => {
    fake.enqueue([
      { kind: "hang", beforeHeaders: true },
      { kind: "hang", beforeHeaders: true },
    ]);
    const err = await rejection(
      claude({ timeoutMs: 150, retry: { maxAttempts: 2, baseDelayMs: 1 } }).run({ prompt: "x" }),
    );
    expect(err).toMatchObject({ code: "timeout", retryable: true, attempts: 2 });
  });

  it("retries a malformed frame, an in-stream overloaded error and a dropped connection before any text", async () => {
    fake.enqueue([
      { kind: "malformed" },
      { kind: "stream_error", errorType: "overloaded_error" },
      { kind: "disconnect" },
      { kind: "reply", text: "fine" },
    ]);
    const result = await claude({ retry: { maxAttempts: 4, baseDelayMs: 1 } }).run({ prompt: "x" });
    expect(result).toMatchObject({ output: "fine", attempts: 4 });
  });

  it("does not retry once text has streamed (it would be streamed twice), but says a retry may help", async () => {
    fake.enqueue([
      { kind: "malformed", afterChunks: 2 },
      { kind: "reply", text: "never used" },
    ]);
    const seen: string[] = [];
    const err = await rejection(claude().run({ prompt: "one two three", onText: (t) => seen.push(t) }));
    expect(err).toMatchObject({ code: "bad_response", retryable: true, attempts: 1 });
    expect(seen.join("")).toBe("[claude-sonnet-5-5] one");
    expect(fake.pending()).toBe(1);
  });

  it("a non-transient error event is not retried", async () => {
    fake.enqueue({ kind: "stream_error", errorType: "invalid_request_error", message: "prompt too long" });
    const err = await rejection(claude().run({ prompt: "x" }));
    expect(err).toMatchObject({ code: "bad_request", retryable: false, attempts: 1 });
  });

  it("cancels mid-stream through the AbortSignal", async () => {
    fake.enqueue({ kind: "reply", chunks: ["a", "b", "c", "d", "e"], delayMs: 100 });
    const controller = new AbortController();
    const seen: string[] = [];
    const started = Date.now();
    const err = await rejection(
      claude().run({
        prompt: "x",
        signal: controller.signal,
        onText: (t) => {
          seen.push(t);
          controller.abort(new Error("operator cancelled"));
        },
      }),
    );
    expect(err).toMatchObject({ code: "aborted", retryable: false, attempts: 1 });
    expect(seen).toEqual(["a"]);
    expect(Date.now() - started).toBeLessThan(400);
  });

  it("a refusal is a non-retryable failure", async () => {
    fake.enqueue({ kind: "reply", text: "I can't help with that.", stopReason: "refusal" });
    const err = await rejection(claude().run({ prompt: "x" }));
    expect(err).toMatchObject({ code: "refused", retryable: false });
  });

  it("an unpriced model has no cost estimate unless config prices it", async () => {
    const unpriced = await claude({ model: "claude-experimental" }).run({ prompt: "x" });
    expect(unpriced.costUsd).toBeNull();
    fake.enqueue({ kind: "reply", text: "y", usage: { input_tokens: 1_000_000, output_tokens: 0 } });
    const priced = await claude({
      model: "claude-experimental",
      prices: { "claude-experimental": { input: 1, output: 2 } },
    }).run({
      prompt: "x",
    });
    expect(priced.costUsd).toBe(1);
  });
});
