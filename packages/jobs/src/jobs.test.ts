import { describe, expect, it } from "vitest";
import { JOB_NAMES, readJobRequest, runJob } from "./index";
import { keywordExtract, textChunk, textEmbed, textStats, tokenize } from "./text";

describe("job input formats", () => {
  it("reads the seed's manifest form, parameters beside the text", () => {
    expect(readJobRequest('{"job_type":"text_chunk","payload":{"text":"abc","max_chars":24}}')).toEqual({
      ok: true,
      form: "seed",
      request: { job: "text_chunk", input: "abc", options: { max_chars: 24 } },
    });
    expect(readJobRequest('{"job_type":"keyword_extract","payload":{"text":"x","limit":5}}')).toMatchObject({
      ok: true,
      request: { job: "keyword_extract", options: { limit: 5, min_length: 3 } },
    });
  });

  it("reads the envelope form, applying defaults and the earlier option names", () => {
    expect(readJobRequest('{"job":"text_chunk","input":"abc"}')).toMatchObject({
      ok: true,
      form: "envelope",
      request: { job: "text_chunk", input: "abc", options: { max_chars: 120 } },
    });
    expect(readJobRequest('{"job":"keyword_extract","input":"x","options":{"top_k":2}}')).toMatchObject({
      request: { options: { limit: 2, min_length: 3 } },
    });
    expect(readJobRequest('{"job":"text_embed","input":"x","options":{"dims":16}}')).toMatchObject({
      request: { options: { dimensions: 16 } },
    });
  });

  it("takes a plain-text prompt as the input of the job its capability names", () => {
    expect(readJobRequest("just text", "keyword_extract")).toEqual({
      ok: true,
      form: "plain",
      request: { job: "keyword_extract", input: "just text", options: { limit: 10, min_length: 3 } },
    });
    // A JSON object without a `job` or `job_type` key is plain text too.
    expect(readJobRequest('{"a":1}', "echo")).toMatchObject({
      ok: true,
      request: { job: "echo", input: '{"a":1}' },
    });
    expect(readJobRequest("plain text", "research")).toEqual({ ok: null });
  });

  it.each([
    [
      '{"job_type":"text_chunk","payload":{"text":"x","max_chars":0}}',
      "payload.max_chars",
      "max_chars must be an integer from 1 to 1000 (default 120)",
    ],
    [
      '{"job_type":"text_chunk","payload":{"text":"x","max_chars":1001}}',
      "payload.max_chars",
      "max_chars must be an integer from 1 to 1000 (default 120)",
    ],
    [
      '{"job_type":"text_embed","payload":{"text":"x","dimensions":65}}',
      "payload.dimensions",
      "dimensions must be an integer from 2 to 64 (default 8)",
    ],
    [
      '{"job_type":"text_embed","payload":{"text":"x","dimensions":1.5}}',
      "payload.dimensions",
      "dimensions must be an integer from 2 to 64 (default 8)",
    ],
    [
      '{"job_type":"keyword_extract","payload":{"text":"x","limit":101}}',
      "payload.limit",
      "limit must be an integer from 1 to 100 (default 10)",
    ],
    [
      '{"job":"text_chunk","input":"x","options":{"max_chars":5000}}',
      "options.max_chars",
      "max_chars must be an integer from 1 to 1000 (default 120)",
    ],
    ['{"job_type":"nope","payload":{"text":"x"}}', "job_type", null],
    ['{"job":"echo","input":"x","extra":true}', "", null],
    ['{"job":"text_embed","input":42}', "input", null],
  ])("refuses %s naming %s", (prompt, path, message) => {
    const read = readJobRequest(prompt);
    expect(read.ok).toBe(false);
    if (read.ok !== false) return;
    expect(read.issues[0]?.path.join(".")).toBe(path);
    if (message) expect(read.issues[0]?.message).toBe(message);
  });
});

describe("jobs", () => {
  it("echo returns its input unchanged", () => {
    expect(runJob({ job: "echo", input: "  héllo\n", options: {} })).toBe("  héllo\n");
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

  it("text_embed counts tokens into SHA-256 buckets: the seed's exact integer shape", () => {
    // sha256("the")[0..4] mod 4 = 1, sha256("worker")[0..4] mod 4 = 2.
    expect(runJob({ job: "text_embed", input: "The worker the", options: { dimensions: 4 } })).toBe(
      '{"dimensions":4,"token_count":3,"unique_terms":2,"vector":[0,2,1,0]}',
    );
    const a = textEmbed("the cat sat on the mat", 64);
    expect(a.vector).toHaveLength(64);
    expect(a.vector.reduce((s, v) => s + v, 0)).toBe(6);
    expect(a.vector.every((v) => Number.isInteger(v))).toBe(true);
    expect(a.unique_terms).toBe(5);
    // Same words, different order and case → same vector: it is a bag of words, nothing more.
    expect(textEmbed("Mat the on SAT cat the", 64).vector).toEqual(a.vector);
    expect(textEmbed("", 8)).toEqual({
      dimensions: 8,
      token_count: 0,
      unique_terms: 0,
      vector: new Array(8).fill(0),
    });
  });

  it("text_chunk at max_chars 1 splits every character, keeping an astral pair whole", () => {
    expect(textChunk("ab", 1).map((c) => c.text)).toEqual(["a", "b"]);
    expect(textChunk("a😀", 1).map((c) => c.text)).toEqual(["a", "😀"]);
  });

  it("every job is deterministic: same input, byte-identical output", () => {
    const input = "Deterministic jobs let the hub validate a result by recomputing it. Recomputing is cheap.";
    for (const job of JOB_NAMES) {
      const read = readJobRequest(JSON.stringify({ job_type: job, payload: { text: input } }));
      if (read.ok !== true) throw new Error(job);
      expect(runJob(read.request)).toBe(runJob(structuredClone(read.request)));
    }
  });
});
