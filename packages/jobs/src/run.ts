import type { JobRequest } from "./request";
import { keywordExtract, textChunk, textEmbed, textStats } from "./text";

/**
 * Runs a job. The output is the input itself for `echo`, otherwise compact JSON. Pure: the same
 * request gives byte-identical output on any machine, which is what lets the hub validate a
 * result by recomputing it and comparing bytes.
 */
export function runJob(request: JobRequest): string {
  switch (request.job) {
    case "echo":
      return request.input;
    case "text_stats":
      return JSON.stringify({ job: request.job, ...textStats(request.input) });
    case "keyword_extract":
      return JSON.stringify({
        job: request.job,
        keywords: keywordExtract(request.input, request.options.limit, request.options.min_length),
      });
    case "text_chunk":
      return JSON.stringify({
        job: request.job,
        max_chars: request.options.max_chars,
        chunks: textChunk(request.input, request.options.max_chars),
      });
    case "text_embed":
      // Exactly the seed's shape: {"dimensions", "token_count", "unique_terms", "vector"}.
      return JSON.stringify(textEmbed(request.input, request.options.dimensions));
    default: {
      const unreachable: never = request;
      throw new Error(`Unknown job ${JSON.stringify(unreachable)}`);
    }
  }
}
