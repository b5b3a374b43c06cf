import { describe, expect, it } from "vitest";
import { createProvider } from "../config";
import { isProviderError } from "../errors";
import { JOB_NAMES, parseJobRequest, runJob } from "./index";
import { fnv1a32, keywordExtract, textChunk, textEmbed, textStats, tokenize } from "./text";

const jobs = createProvider({ kind: "jobs" });

describe("job input format", () => {
  it("reads a JSON envelope, applying option defaults", () => {
    expect(parseJobRequest('{"job":"text_chunk","input":"abc"}')).toEqual({
      job: "text_chunk",
      input: "abc",
      options: { max_chars: 1000 },
    });
  });

  it("takes a plain-text prompt as the input of the job its capability names", () => {
    expect(parseJobRequest("just text", "keyword_extract")).toEqual({
      job: "keyword_extract",
      input: "just text",
      options: { top_k: 10, min_length: 3 },
    });
    // A JSON object without a `job` key is plain text too.
    expect(parseJobRequest('{"a":1}', "echo")).toEqual({ job: "echo", input: '{"a":1}' });
  });

  it.each([
    ['{"job":"nope","input":"x"}', undefined, /job/],
    ['{"job":"text_chunk","input":"x","options":{"max_chars":3}}', undefined, /max_chars/],
    ['{"job":"echo","input":"x","extra":true}', undefined, /extra/],
    ['{"job":"text_embed","input":42}', undefined, /input/],
    ["plain text", "research", /capability "research"/],
    ["plain text", undefined, /capability null/],
  ])("rejects %s (capability %s) as non-retryable invalid input", (prompt, capability, message) => {
    let thrown: unknown;
    try {
      parseJobRequest(prompt, capability);
    } catch (err) {
      thrown = err;
    }
    expect(isProviderError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ code: "invalid_input", retryable: false });
    expect((thrown as Error).message).toMatch(message);
  });
});

describe("jobs", () => {
  it("echo returns its input unchanged", () => {
    expect(runJob({ job: "echo", input: "  héllo\n" })).toBe("  héllo\n");
  });

  it("text_stats counts code points, bytes, words, lines, sentences and paragraphs", () => {
    const text = "Hello world. Héllo again!\n\nNew paragraph here?\nYes";
    expect(textStats(text)).toEqual({
      chars: 50, // "é" is one code point…
      bytes: 51, // …and two UTF-8 bytes
      words: 8,
      unique_words: 8,
      lines: 4,
      sentences: 4,
      paragraphs: 2,
      avg_word_length: 4.875, // 39 letters / 8 words
    });
    expect(textStats("")).toEqual({
      chars: 0,
      bytes: 0,
      words: 0,
      unique_words: 0,
      lines: 0,
      sentences: 0,
      paragraphs: 0,
      avg_word_length: 0,
    });
  });

  it("tokenize lower-cases, NFC-normalises and keeps inner apostrophes", () => {
    expect(tokenize("Don’t STOP cafe\u0301 42")).toEqual(["don't", "stop", "café", "42"]);
  });

  it("keyword_extract ranks content words by count, ties by first appearance", () => {
    const text =
      "Mesh workers pull tasks. The mesh assigns tasks to workers; workers stream output. It is 2026.";
    expect(keywordExtract(text, 3, 3)).toEqual([
      { term: "workers", count: 3, score: 0.1875 },
      { term: "mesh", count: 2, score: 0.125 },
      { term: "tasks", count: 2, score: 0.125 },
    ]);
  });

  it("text_chunk prefers paragraph, line, sentence, then word breaks, and is lossless", () => {
    const text = `${"First paragraph sentence one. Sentence two is here."}\n\n${"Second paragraph, a bit longer than the first one, with more words."}`;
    const chunks = textChunk(text, 60);
    expect(chunks.map((c) => c.text).join("")).toBe(text);
    expect(chunks.every((c) => c.text.length <= 60)).toBe(true);
    expect(chunks[0]?.text).toBe("First paragraph sentence one. Sentence two is here.\n\n");
    expect(chunks[1]?.text.endsWith(" ")).toBe(true); // cut at whitespace, kept with the chunk before
    chunks.forEach((c, i) => {
      expect(c.index).toBe(i);
      expect(text.slice(c.start, c.end)).toBe(c.text);
    });
  });

  it("text_chunk hard-cuts text without whitespace but never splits a surrogate pair", () => {
    const text = `${"a".repeat(15)}😀${"b".repeat(20)}`;
    const chunks = textChunk(text, 16);
    expect(chunks[0]?.text).toBe("a".repeat(15));
    expect(chunks[1]?.text.startsWith("😀")).toBe(true);
    expect(chunks.map((c) => c.text).join("")).toBe(text);
    expect(textChunk("", 16)).toEqual([]);
  });

  it("text_embed hashes words into a signed, L2-normalised vector", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c); // FNV-1a 32-bit reference value
    const a = textEmbed("the cat sat on the mat", 64);
    expect(a.dims).toBe(64);
    expect(a.vector).toHaveLength(64);
    expect(a.tokens).toBe(6);
    const norm = Math.sqrt(a.vector.reduce((s, v) => s + v * v, 0));
    expect(norm).toBeCloseTo(1, 5);
    // Same words, different order and case → same vector: it is a bag of words, nothing more.
    expect(textEmbed("Mat the on SAT cat the", 64).vector).toEqual(a.vector);
    expect(textEmbed("", 8).vector).toEqual(new Array(8).fill(0));
  });

  it("every job is deterministic: same input, byte-identical output", async () => {
    const input = "Deterministic jobs let the hub validate a result by recomputing it. Recomputing is cheap.";
    for (const job of JOB_NAMES) {
      const prompt = JSON.stringify({ job, input });
      const first = await jobs.run({ prompt });
      const second = await jobs.run({ prompt });
      expect(second.output).toBe(first.output);
      expect(first).toMatchObject({ confidence: 1, costUsd: 0, model: `m3shd-jobs-1/${job}` });
    }
  });

  it("runs through the provider with the capability as the job", async () => {
    const result = await jobs.run({ prompt: "one two three", capability: "text_stats" });
    expect(JSON.parse(result.output)).toMatchObject({ job: "text_stats", words: 3 });
    await expect(jobs.run({ prompt: "{not json", capability: "research" })).rejects.toMatchObject({
      code: "invalid_input",
      retryable: false,
      attempts: 1,
    });
  });
});
