import { readFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createProvider, PLACEHOLDER_API_KEY } from "./config";
import { isProviderError, type ProviderError } from "./errors";
import { type FakeProviderServer, startFakeProviderServer } from "./fake-server";

let fake: FakeProviderServer;
beforeAll(async () => {
  fake = await startFakeProviderServer();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const fastRetry = { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 };

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

describe("openai provider — Chat Completions", () => {
  const gpt = (extra: Record<string, unknown> = {}) =>
    createProvider({
      kind: "openai",
      apiKey: "sk-test",
      baseURL: fake.openaiBaseURL,
      model: "gpt-5.4-mini",
      retry: fastRetry,
      ...extra,
    });

  it("streams, asks for usage in the stream and reads it from the final chunk", async () => {
    fake.enqueue({
      kind: "reply",
      chunks: ["Hi", " there"],
      usage: { input_tokens: 2000, cached_input_tokens: 1000, output_tokens: 2 },
      model: "gpt-5.4-mini-2026-03-17",
    });
    const seen: string[] = [];
    const result = await gpt().run({
      prompt: "hello",
      system: "sys",
      temperature: 0.2,
      onText: (t) => seen.push(t),
    });
    expect(seen).toEqual(["Hi", " there"]);
    expect(result).toMatchObject({
      output: "Hi there",
      model: "gpt-5.4-mini-2026-03-17",
      usage: { input_tokens: 2000, output_tokens: 2, cached_input_tokens: 1000 },
      usageReported: true,
      stopReason: "stop",
      confidence: null,
    });
    // The dated snapshot is priced as its base model: 1000 × 0.75 + 1000 × 0.075 + 2 × 4.5.
    expect(result.costUsd).toBeCloseTo((1000 * 0.75 + 1000 * 0.075 + 2 * 4.5) / 1e6, 12);
    const [req] = fake.requests;
    expect(req?.path).toBe("/v1/chat/completions");
    expect(req?.headers.authorization).toBe("Bearer sk-test");
    expect(req?.body).toEqual({
      model: "gpt-5.4-mini",
      messages: [
        { role: "system", content: "sys" },
        { role: "user", content: "hello" },
      ],
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 4096,
      temperature: 0.2,
    });
  });

  it("reports exp(mean logprob) as confidence when logprobs are on", async () => {
    fake.enqueue({ kind: "reply", chunks: ["a", "b"], logprob: -0.2 });
    const result = await gpt({ logprobs: true }).run({ prompt: "x" });
    expect(result.confidence).toBeCloseTo(Math.exp(-0.2), 6);
    expect(fake.requests[0]?.body).toMatchObject({ logprobs: true });
  });

  it("copes with a server that sends no usage chunk", async () => {
    const recorded = readFileSync(new URL("../test/fixtures/llm/openai-stream.txt", import.meta.url), "utf8");
    const withoutUsage = recorded
      .split("\n\n")
      .filter((frame) => !frame.includes('"usage"'))
      .join("\n\n");
    fake.enqueue({ kind: "raw", body: withoutUsage, contentType: "text/event-stream" });
    const result = await gpt().run({ prompt: "weather?" });
    expect(result.output).toMatch(/^I'm unable to provide real-time weather updates\./);
    expect(result).toMatchObject({ usageReported: false, usage: { input_tokens: 0, output_tokens: 0 } });
  });

  it("honours retry-after-ms on a 429", async () => {
    fake.enqueue([
      { kind: "error", status: 429, retryAfterMs: 150 },
      { kind: "reply", text: "ok" },
    ]);
    const started = Date.now();
    const result = await gpt().run({ prompt: "x" });
    expect(result.attempts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("retries an in-stream error chunk before text, and maps an unknown model to not_found", async () => {
    fake.enqueue([{ kind: "stream_error" }, { kind: "reply", text: "ok" }]);
    expect((await gpt().run({ prompt: "x" })).attempts).toBe(2);
    fake.enqueue({ kind: "error", status: 404, message: "The model `nope` does not exist" });
    const err = await rejection(gpt().run({ prompt: "x", model: "nope" }));
    expect(err).toMatchObject({ code: "not_found", retryable: false, status: 404 });
  });

  it("a content_filter finish is a non-retryable refusal", async () => {
    fake.enqueue({ kind: "reply", text: "", chunks: [], stopReason: "content_filter" });
    expect(await rejection(gpt().run({ prompt: "x" }))).toMatchObject({ code: "refused", retryable: false });
  });

  describe("environment isolation", () => {
    const saved = { org: process.env.OPENAI_ORG_ID, key: process.env.OPENAI_API_KEY };
    afterEach(() => {
      process.env.OPENAI_ORG_ID = saved.org;
      process.env.OPENAI_API_KEY = saved.key;
      if (saved.org === undefined) delete process.env.OPENAI_ORG_ID;
      if (saved.key === undefined) delete process.env.OPENAI_API_KEY;
    });

    it("never forwards OPENAI_* variables from the worker's environment", async () => {
      process.env.OPENAI_ORG_ID = "org-from-env";
      process.env.OPENAI_API_KEY = "sk-from-env";
      await gpt().run({ prompt: "x" });
      const headers = fake.requests[0]?.headers ?? {};
      expect(headers["openai-organization"]).toBeUndefined();
      expect(headers.authorization).toBe("Bearer sk-test");
    });
  });
});

describe("openai provider — Responses API", () => {
  const responses = () =>
    createProvider({
      kind: "openai",
      apiKey: "sk-test",
      baseURL: fake.openaiBaseURL,
      model: "gpt-5.4",
      api: "responses",
      maxTokens: 100,
      retry: fastRetry,
    });

  it("streams output_text deltas and reads usage from response.completed", async () => {
    fake.enqueue({
      kind: "reply",
      chunks: ["x", "y", "z"],
      usage: { input_tokens: 50, cached_input_tokens: 10, output_tokens: 3 },
    });
    const seen: string[] = [];
    const result = await responses().run({ prompt: "p", system: "inst", onText: (t) => seen.push(t) });
    expect(seen).toEqual(["x", "y", "z"]);
    expect(result).toMatchObject({
      output: "xyz",
      usage: { input_tokens: 50, output_tokens: 3, cached_input_tokens: 10 },
      stopReason: "completed",
    });
    expect(fake.requests[0]?.path).toBe("/v1/responses");
    expect(fake.requests[0]?.body).toEqual({
      model: "gpt-5.4",
      input: "p",
      instructions: "inst",
      max_output_tokens: 100,
      store: false,
      stream: true,
    });
  });

  it("retries an `error` event (the SDK yields it rather than throwing)", async () => {
    fake.enqueue([
      { kind: "stream_error", errorType: "server_error" },
      { kind: "reply", text: "done" },
    ]);
    expect(await responses().run({ prompt: "p" })).toMatchObject({ output: "done", attempts: 2 });
  });

  it("fails a non-transient error event at once", async () => {
    fake.enqueue({ kind: "stream_error", errorType: "invalid_prompt", message: "bad prompt" });
    expect(await rejection(responses().run({ prompt: "p" }))).toMatchObject({
      code: "bad_request",
      retryable: false,
      attempts: 1,
    });
  });
});

describe("grok provider", () => {
  it("speaks Chat Completions at the configured xAI-compatible base URL", async () => {
    const grok = createProvider({
      kind: "grok",
      apiKey: "xai-test",
      baseURL: fake.openaiBaseURL,
      model: "grok-4",
      retry: fastRetry,
    });
    fake.enqueue({ kind: "reply", text: "grok says hi", usage: { input_tokens: 10, output_tokens: 3 } });
    const result = await grok.run({ prompt: "hi" });
    expect(result).toMatchObject({ output: "grok says hi", model: "grok-4" });
    expect(result.costUsd).toBeCloseTo((10 * 3 + 3 * 15) / 1e6, 12);
    expect(fake.requests[0]?.headers.authorization).toBe("Bearer xai-test");
    expect(grok.kind).toBe("grok");
  });

  it("defaults to api.x.ai", () => {
    // No request made: the default only has to be what xAI documents.
    expect(() => createProvider({ kind: "grok", apiKey: "k", model: "grok-4" })).not.toThrow();
  });
});

describe("openai-compatible provider", () => {
  it("needs no key, sends max_tokens, and costs nothing by default", async () => {
    const local = createProvider({
      kind: "openai-compatible",
      baseURL: fake.openaiBaseURL,
      model: "llama3.2",
      maxTokens: 64,
      retry: fastRetry,
    });
    const result = await local.run({ prompt: "hi" });
    expect(result.output).toBe("[llama3.2] hi");
    expect(result.costUsd).toBe(0);
    const req = fake.requests[0];
    expect(req?.headers.authorization).toBe(`Bearer ${PLACEHOLDER_API_KEY}`);
    expect(req?.body).toMatchObject({ max_tokens: 64 });
    expect(req?.body).not.toHaveProperty("max_completion_tokens");
  });

  it("reports a refused connection as a retryable network error", async () => {
    const dead = createProvider({
      kind: "openai-compatible",
      baseURL: "http://127.0.0.1:9/v1",
      model: "m",
      retry: { maxAttempts: 2, baseDelayMs: 1 },
    });
    expect(await rejection(dead.run({ prompt: "x" }))).toMatchObject({
      code: "network",
      retryable: true,
      attempts: 2,
    });
  });
});
