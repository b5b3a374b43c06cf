import { z } from "zod";
import { ProviderError } from "../errors";
import type { Attempt } from "../types";
import { keywordExtract, textChunk, textEmbed, textStats } from "./text";

/** The built-in deterministic jobs. Each is also a capability name a `jobs` worker serves. */
export const JOB_NAMES = ["echo", "text_stats", "keyword_extract", "text_chunk", "text_embed"] as const;
export type JobName = (typeof JOB_NAMES)[number];

const NoOptions = z.strictObject({}).optional();

/**
 * A job request: the task prompt as JSON, `{"job": "...", "input": "...", "options": {...}}`.
 * Strict: unknown jobs, unknown options and out-of-range values are rejected, never guessed.
 */
export const JobRequestSchema = z.discriminatedUnion("job", [
  z.strictObject({ job: z.literal("echo"), input: z.string(), options: NoOptions }),
  z.strictObject({ job: z.literal("text_stats"), input: z.string(), options: NoOptions }),
  z.strictObject({
    job: z.literal("keyword_extract"),
    input: z.string(),
    options: z
      .strictObject({
        /** Keywords returned (1–100, default 10). */
        top_k: z.int().min(1).max(100).default(10),
        /** Shortest word considered, in code points (1–50, default 3). */
        min_length: z.int().min(1).max(50).default(3),
      })
      .prefault({}),
  }),
  z.strictObject({
    job: z.literal("text_chunk"),
    input: z.string(),
    options: z
      .strictObject({
        /** Longest chunk in UTF-16 code units (16–100000, default 1000). */
        max_chars: z.int().min(16).max(100_000).default(1000),
      })
      .prefault({}),
  }),
  z.strictObject({
    job: z.literal("text_embed"),
    input: z.string(),
    options: z
      .strictObject({
        /** Vector length (8–4096, default 256). */
        dims: z.int().min(8).max(4096).default(256),
      })
      .prefault({}),
  }),
]);
export type JobRequest = z.output<typeof JobRequestSchema>;
export type JobRequestInput = z.input<typeof JobRequestSchema>;

function isJobName(value: string | undefined): value is JobName {
  return value !== undefined && (JOB_NAMES as readonly string[]).includes(value);
}

function invalid(message: string): ProviderError {
  return new ProviderError(message, { code: "invalid_input", retryable: false });
}

/**
 * Reads a job request from a task prompt:
 * 1. a prompt that is a JSON object with a `job` key is a request envelope, validated strictly;
 * 2. otherwise, when the task's capability names a job, the whole prompt is that job's input text
 *    with default options (so `{"required_capability": "text_stats", "prompt": "some text"}` works);
 * 3. anything else is rejected. Rejections are non-retryable: the same input fails the same way.
 */
export function parseJobRequest(prompt: string, capability?: string): JobRequest {
  let parsed: unknown;
  const trimmed = prompt.trimStart();
  if (trimmed.startsWith("{")) {
    try {
      parsed = JSON.parse(prompt);
    } catch {
      parsed = undefined;
    }
  }
  if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) && "job" in parsed) {
    const result = JobRequestSchema.safeParse(parsed);
    if (!result.success) {
      const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
      throw invalid(`Invalid job request: ${issues.join("; ")}`);
    }
    return result.data;
  }
  if (isJobName(capability)) return JobRequestSchema.parse({ job: capability, input: prompt });
  throw invalid(
    `Job input must be JSON {"job": one of ${JOB_NAMES.join("|")}, "input": string, "options"?: object}` +
      `, or plain text on a task whose capability names a job (got capability ${JSON.stringify(capability ?? null)})`,
  );
}

/** Runs a job. The output is the input itself for `echo`, otherwise compact JSON. */
export function runJob(request: JobRequest): string {
  switch (request.job) {
    case "echo":
      return request.input;
    case "text_stats":
      return JSON.stringify({ job: request.job, ...textStats(request.input) });
    case "keyword_extract":
      return JSON.stringify({
        job: request.job,
        keywords: keywordExtract(request.input, request.options.top_k, request.options.min_length),
      });
    case "text_chunk":
      return JSON.stringify({
        job: request.job,
        max_chars: request.options.max_chars,
        chunks: textChunk(request.input, request.options.max_chars),
      });
    case "text_embed":
      return JSON.stringify({
        job: request.job,
        ...textEmbed(request.input, request.options.dims),
        note: "hashed bag-of-words (FNV-1a, signed, L2-normalised): lexical overlap, not meaning",
      });
    default: {
      const unreachable: never = request;
      throw invalid(`Unknown job ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The `jobs` provider's attempt: no model, no network, no tokens; confidence 1 (recomputable). */
export function jobsAttempt(model: string): Attempt {
  return async ({ input, signal, emit }) => {
    signal.throwIfAborted();
    const request = parseJobRequest(input.prompt, input.capability);
    const output = runJob(request);
    emit(output);
    return {
      output,
      usage: { input_tokens: 0, output_tokens: 0 },
      usageReported: true,
      model: `${model}/${request.job}`,
      confidence: 1,
      stopReason: "done",
    };
  };
}

export { keywordExtract, textChunk, textEmbed, textStats, tokenize } from "./text";
