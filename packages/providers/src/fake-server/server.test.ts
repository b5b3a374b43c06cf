import { readFileSync } from "node:fs";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeProviderServer, startFakeProviderServer } from "./index";

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/llm/${name}`, import.meta.url), "utf8");

/** Event names of an SSE body, in order. */
function eventNames(body: string): string[] {
  return [...body.matchAll(/^event: (\S+)$/gm)].map((m) => m[1] as string);
}

/** `data:` payloads of an SSE body, in order. */
function dataLines(body: string): string[] {
  return [...body.matchAll(/^data: (.*)$/gm)].map((m) => m[1] as string);
}

let fake: FakeProviderServer;

beforeAll(async () => {
  fake = await startFakeProviderServer();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const anthropic = () => new Anthropic({ apiKey: "test-key", baseURL: fake.url, maxRetries: 0 });
const openai = () => new OpenAI({ apiKey: "test-key", baseURL: fake.openaiBaseURL, maxRetries: 0 });

describe("recorded transcripts replayed through the real SDKs", () => {
  it("Anthropic basic stream parses to 'Hello there!' with its usage", async () => {
    // The recording ends without the final blank line; a real server terminates every event.
    fake.enqueue({
      kind: "raw",
      body: `${fixture("anthropic-stream.txt")}\n\n`,
      contentType: "text/event-stream",
    });
    const stream = await anthropic().messages.create({
      model: "claude-3-opus-latest",
      max_tokens: 16,
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
    let text = "";
    const types: string[] = [];
    let outputTokens = 0;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
      if (event.type === "message_delta") outputTokens = event.usage.output_tokens;
    }
    expect(text).toBe("Hello there!");
    expect(outputTokens).toBe(6);
    expect(types).not.toContain("ping"); // the SDK drops pings
  });

  it("Anthropic tool-use stream keeps text and reports stop_reason tool_use", async () => {
    fake.enqueue({ kind: "raw", body: `${fixture("anthropic-stream-tool-use.txt")}\n\n` });
    const stream = await anthropic().messages.create({
      model: "claude-sonnet-4-20250514",
      max_tokens: 64,
      messages: [{ role: "user", content: "Weather in Paris?" }],
      stream: true,
    });
    let text = "";
    let json = "";
    let stop: string | null = null;
    for await (const event of stream) {
      if (event.type === "content_block_delta" && event.delta.type === "text_delta") text += event.delta.text;
      if (event.type === "content_block_delta" && event.delta.type === "input_json_delta")
        json += event.delta.partial_json;
      if (event.type === "message_delta") stop = event.delta.stop_reason;
    }
    expect(text).toBe("I'll check the current weather in Paris for you.");
    expect(JSON.parse(json)).toEqual({ location: "Paris" });
    expect(stop).toBe("tool_use");
  });

  it("OpenAI chat stream concatenates to the documented text and ends with a usage-only chunk", async () => {
    fake.enqueue({ kind: "raw", body: fixture("openai-stream.txt"), contentType: "text/event-stream" });
    const stream = await openai().chat.completions.create({
      model: "gpt-4o-2024-08-06",
      messages: [{ role: "user", content: "weather?" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(
      "I'm unable to provide real-time weather updates. To get the current weather in San Francisco, I recommend checking a reliable weather website or a weather app.",
    );
    expect(usage).toMatchObject({ prompt_tokens: 14, completion_tokens: 30, total_tokens: 44 });
  });

  it("OpenAI finish_reason length transcript", async () => {
    fake.enqueue({
      kind: "raw",
      body: fixture("openai-stream-finish-length.txt"),
      contentType: "text/event-stream",
    });
    const stream = await openai().chat.completions.create({
      model: "gpt-4o-2024-08-06",
      messages: [{ role: "user", content: "json" }],
      stream: true,
    });
    const reasons: string[] = [];
    for await (const chunk of stream) {
      const reason = chunk.choices[0]?.finish_reason;
      if (reason) reasons.push(reason);
    }
    expect(reasons).toEqual(["length"]);
  });
});

describe("generated wire formats mirror the recordings", () => {
  it("Anthropic replies follow the recorded event order", async () => {
    fake.enqueue({ kind: "reply", chunks: ["Hello", " there", "!"] });
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2026-10-21" },
      body: JSON.stringify({
        model: "m",
        max_tokens: 5,
        messages: [{ role: "user", content: "Hi" }],
        stream: true,
      }),
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const body = await res.text();
    expect(eventNames(body)).toEqual(eventNames(fixture("anthropic-stream.txt")));
    // Every event's JSON `type` equals its event name, and every event ends with a blank line.
    const names = eventNames(body);
    expect(dataLines(body).map((d) => (JSON.parse(d) as { type: string }).type)).toEqual(names);
    expect(body.endsWith("\n\n")).toBe(true);
  });

  it("Chat replies: role chunk, content chunks, finish chunk, usage-only chunk, [DONE]", async () => {
    fake.enqueue({ kind: "reply", chunks: ["a", "b"], usage: { input_tokens: 7, output_tokens: 2 } });
    const res = await fetch(`${fake.openaiBaseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-x",
        messages: [{ role: "user", content: "x" }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    const lines = dataLines(await res.text());
    expect(lines.at(-1)).toBe("[DONE]");
    const chunks = lines.slice(0, -1).map((l) => JSON.parse(l));
    expect(chunks[0].choices[0].delta).toEqual({ role: "assistant", content: "", refusal: null });
    expect(chunks.at(-2).choices[0].finish_reason).toBe("stop");
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 2 } });
    // Same shape as the recording's usage-only chunk.
    const recorded = dataLines(fixture("openai-stream.txt"))
      .slice(0, -1)
      .map((l) => JSON.parse(l));
    expect(Object.keys(chunks.at(-1)).sort()).toEqual(
      expect.arrayContaining(Object.keys(recorded.at(-1)).sort()),
    );
  });

  it("Chat replies carry no usage chunk unless include_usage is set", async () => {
    const res = await fetch(`${fake.openaiBaseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-x", messages: [{ role: "user", content: "x" }], stream: true }),
    });
    const chunks = dataLines(await res.text())
      .slice(0, -1)
      .map((l) => JSON.parse(l));
    expect(chunks.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);
  });

  it("Responses replies parse through the SDK and end with response.completed and usage", async () => {
    fake.enqueue({
      kind: "reply",
      chunks: ["Hi", " you"],
      usage: { input_tokens: 9, output_tokens: 2, cached_input_tokens: 4 },
    });
    const stream = await openai().responses.create({ model: "gpt-5.4", input: "hello", stream: true });
    const types: string[] = [];
    let text = "";
    let usage: OpenAI.Responses.ResponseUsage | null | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") usage = event.response.usage;
    }
    expect(text).toBe("Hi you");
    expect(types[0]).toBe("response.created");
    expect(types.at(-1)).toBe("response.completed");
    expect(usage).toMatchObject({
      input_tokens: 9,
      output_tokens: 2,
      input_tokens_details: { cached_tokens: 4 },
    });
  });

  it("answers non-streamed requests with a JSON body", async () => {
    fake.enqueue({ kind: "reply", text: "whole" });
    const message = await anthropic().messages.create({
      model: "claude-x",
      max_tokens: 8,
      messages: [{ role: "user", content: "q" }],
    });
    expect(message.content).toEqual([{ type: "text", text: "whole" }]);
  });
});

describe("scripting and recording", () => {
  it("records what the SDK sent, headers included", async () => {
    await anthropic().messages.create({
      model: "claude-x",
      max_tokens: 8,
      system: "be brief",
      messages: [{ role: "user", content: "q" }],
    });
    const [request] = await fake.waitForRequests(1, { api: "anthropic" });
    expect(request?.path).toBe("/v1/messages");
    expect(request?.headers.authorization).toBe("Bearer test-key");
    expect(request?.headers["anthropic-version"]).toBe("2026-10-21");
    expect(request?.body).toMatchObject({ model: "claude-x", max_tokens: 8, system: "be brief" });
  });

  it("rejects sampling parameters on Anthropic API version 2026-10-21, as the real API does", async () => {
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json", "anthropic-version": "2026-10-21" },
      body: JSON.stringify({ model: "m", max_tokens: 5, temperature: 1, messages: [] }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: "temperature: Extra inputs are not permitted" },
    });
  });

  it("matches queued scripts by API and model, else answers with the default reply", async () => {
    fake.enqueue({ kind: "reply", text: "for b" }, { model: "b" });
    const first = await openai().chat.completions.create({
      model: "a",
      messages: [{ role: "user", content: "x" }],
    });
    const second = await openai().chat.completions.create({
      model: "b",
      messages: [{ role: "user", content: "x" }],
    });
    expect(first.choices[0]?.message.content).toBe("[a] x");
    expect(second.choices[0]?.message.content).toBe("for b");
    expect(fake.pending()).toBe(0);
  });

  it("answers a scripted 429 with retry-after in the provider's error shape", async () => {
    fake.enqueue({ kind: "error", status: 429, retryAfterSeconds: 2 });
    const error = await openai()
      .chat.completions.create({ model: "a", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get("retry-after")).toBe("2");
  });

  it("enforces API keys when configured", async () => {
    const strict = await startFakeProviderServer({ apiKeys: ["right"] });
    try {
      const client = new Anthropic({ apiKey: "wrong", baseURL: strict.url, maxRetries: 0 });
      const error = await client.messages
        .create({ model: "m", max_tokens: 1, messages: [{ role: "user", content: "x" }] })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Anthropic.AuthenticationError);
    } finally {
      await strict.close();
    }
  });

  it("answers unknown routes with 404", async () => {
    const res = await fetch(`${fake.url}/v1/embeddings`, { method: "POST", body: "{}" });
    expect(res.status).toBe(404);
  });

  it("close() ends hung connections", async () => {
    const local = await startFakeProviderServer();
    local.enqueue({ kind: "hang", afterChunks: 0 });
    const res = await fetch(`${local.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", max_tokens: 5, messages: [], stream: true }),
    });
    const reading = res.text().catch((e: unknown) => e);
    await local.close();
    expect(await reading).toBeInstanceOf(Error);
  });
});

describe("gated replies", () => {
  it("holds the stream after N deltas until the gate opens", async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    fake.enqueue({ kind: "reply", chunks: ["a", "b", "c"], gate, gateAfterChunks: 1 });
    const stream = await anthropic().messages.create({
      model: "m",
      max_tokens: 5,
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const event of stream) {
        if (event.type === "content_block_delta" && event.delta.type === "text_delta")
          seen.push(event.delta.text);
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual(["a"]);
    open();
    await reading;
    expect(seen).toEqual(["a", "b", "c"]);
  });
});
