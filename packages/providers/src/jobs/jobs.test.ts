import { describe, expect, it } from "vitest";
import { createProvider } from "../config";
import { isProviderError } from "../errors";
import { JOB_NAMES, parseJobRequest } from "./index";

const jobs = createProvider({ kind: "jobs" });

describe("the jobs provider", () => {
  it.each([
    ['{"job":"nope","input":"x"}', undefined, /job/],
    [
      '{"job":"text_chunk","input":"x","options":{"max_chars":0}}',
      undefined,
      /max_chars must be an integer from 1 to 1000/,
    ],
    [
      '{"job_type":"text_embed","payload":{"text":"x","dimensions":99}}',
      undefined,
      /dimensions must be an integer from 2 to 64/,
    ],
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

  it("runs every job deterministically with confidence 1 and no cost", async () => {
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

  it("a test-only corruption hook rewrites the result (a faulty node)", async () => {
    const faulty = createProvider(
      { kind: "jobs" },
      { corruptJobOutput: (job, out) => (job === "echo" ? `${out}!` : out) },
    );
    expect((await faulty.run({ prompt: "hi", capability: "echo" })).output).toBe("hi!");
  });
});
