import { type JobRequest, readJobRequest, runJob } from "@m3shd/jobs";
import { ProviderError } from "../errors";
import type { Attempt } from "../types";

function invalid(message: string): ProviderError {
  return new ProviderError(message, { code: "invalid_input", retryable: false });
}

/**
 * Reads a job request from a task prompt (see `readJobRequest` in `@m3shd/jobs` for the three
 * accepted forms). Rejections are non-retryable: the same input fails the same way.
 */
export function parseJobRequest(prompt: string, capability?: string): JobRequest {
  const read = readJobRequest(prompt, capability);
  if (read.ok === true) return read.request;
  if (read.ok === false) throw invalid(read.message);
  throw invalid(
    `Job input must be JSON {"job_type": "<job>", "payload": {"text": string, …parameters}} or ` +
      `{"job": "<job>", "input": string, "options"?: object}, or plain text on a task whose capability ` +
      `names a job (got capability ${JSON.stringify(capability ?? null)})`,
  );
}

/** Test-only result corruption (a worker flag): the output a faulty or dishonest node would send. */
export type CorruptOutput = (job: string, output: string) => string;

/** The `jobs` provider's attempt: no model, no network, no tokens; confidence 1 (recomputable). */
export function jobsAttempt(model: string, corrupt?: CorruptOutput): Attempt {
  return async ({ input, signal, emit }) => {
    signal.throwIfAborted();
    const request = parseJobRequest(input.prompt, input.capability);
    const computed = runJob(request);
    const output = corrupt ? corrupt(request.job, computed) : computed;
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

export type { JobName, JobRequest, JobRequestInput } from "@m3shd/jobs";
export {
  JOB_NAMES,
  JobRequestSchema,
  keywordExtract,
  runJob,
  textChunk,
  textEmbed,
  textStats,
  tokenize,
} from "@m3shd/jobs";
