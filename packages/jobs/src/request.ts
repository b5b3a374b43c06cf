import { z } from "zod";

/** The built-in deterministic jobs. Each is also a capability name a `jobs` worker serves. */
export const JOB_NAMES = ["echo", "text_stats", "keyword_extract", "text_chunk", "text_embed"] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** Whether `value` names a built-in deterministic job. */
export function isJobName(value: string | null | undefined): value is JobName {
  return typeof value === "string" && (JOB_NAMES as readonly string[]).includes(value);
}

/**
 * Every job parameter with its range and default, in one place: the schemas below, the 422
 * messages and the docs table are all built from it.
 */
export const JOB_PARAMETERS = {
  keyword_extract: {
    /** Keywords returned. */
    limit: { min: 1, max: 100, default: 10 },
    /** Shortest word considered, in code points. */
    min_length: { min: 1, max: 50, default: 3 },
  },
  text_chunk: {
    /** Longest chunk, in UTF-16 code units. */
    max_chars: { min: 1, max: 1000, default: 120 },
  },
  text_embed: {
    /** Vector length (SHA-256 token buckets). */
    dimensions: { min: 2, max: 64, default: 8 },
  },
} as const;

/** An integer parameter whose every error names it and its range (the 422 says what to fix). */
function param(name: string, range: { min: number; max: number; default: number }) {
  const message = `${name} must be an integer from ${range.min} to ${range.max} (default ${range.default})`;
  return z
    .int({ error: message })
    .min(range.min, { error: message })
    .max(range.max, { error: message })
    .default(range.default);
}

const P = JOB_PARAMETERS;
const KeywordOptions = z.strictObject({
  limit: param("limit", P.keyword_extract.limit),
  min_length: param("min_length", P.keyword_extract.min_length),
});
const ChunkOptions = z.strictObject({ max_chars: param("max_chars", P.text_chunk.max_chars) });
const EmbedOptions = z.strictObject({ dimensions: param("dimensions", P.text_embed.dimensions) });
const NoOptions = z.strictObject({});

/** A job request in its one canonical shape (what `runJob` takes), defaults applied. */
export const JobRequestSchema = z.discriminatedUnion("job", [
  z.strictObject({ job: z.literal("echo"), input: z.string(), options: NoOptions.prefault({}) }),
  z.strictObject({ job: z.literal("text_stats"), input: z.string(), options: NoOptions.prefault({}) }),
  z.strictObject({
    job: z.literal("keyword_extract"),
    input: z.string(),
    options: KeywordOptions.prefault({}),
  }),
  z.strictObject({ job: z.literal("text_chunk"), input: z.string(), options: ChunkOptions.prefault({}) }),
  z.strictObject({ job: z.literal("text_embed"), input: z.string(), options: EmbedOptions.prefault({}) }),
]);
export type JobRequest = z.output<typeof JobRequestSchema>;
export type JobRequestInput = z.input<typeof JobRequestSchema>;

/**
 * The seed's manifest form: `{"job_type": "text_chunk", "payload": {"text": "…", "max_chars": 24}}`.
 * The payload holds the input text and the job's parameters side by side.
 */
export const SeedJobSchema = z.discriminatedUnion("job_type", [
  z.strictObject({ job_type: z.literal("echo"), payload: z.strictObject({ text: z.string() }) }),
  z.strictObject({ job_type: z.literal("text_stats"), payload: z.strictObject({ text: z.string() }) }),
  z.strictObject({
    job_type: z.literal("keyword_extract"),
    payload: z.strictObject({ text: z.string(), ...KeywordOptions.shape }),
  }),
  z.strictObject({
    job_type: z.literal("text_chunk"),
    payload: z.strictObject({ text: z.string(), ...ChunkOptions.shape }),
  }),
  z.strictObject({
    job_type: z.literal("text_embed"),
    payload: z.strictObject({ text: z.string(), ...EmbedOptions.shape }),
  }),
]);
export type SeedJob = z.input<typeof SeedJobSchema>;

/** Earlier option names still accepted in the `{"job", "input", "options"}` form. */
const LEGACY_OPTION_NAMES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  keyword_extract: { top_k: "limit" },
  text_embed: { dims: "dimensions" },
};

export interface JobRequestIssue {
  /** Path in the submitted JSON, e.g. `payload.max_chars`. */
  path: (string | number)[];
  message: string;
}

export type ReadJobResult =
  | { ok: true; request: JobRequest; form: "seed" | "envelope" | "plain" }
  | { ok: false; message: string; issues: JobRequestIssue[] }
  /** Not a job request at all: a plain prompt on a capability that names no job. */
  | { ok: null };

function issuesOf(error: z.ZodError): JobRequestIssue[] {
  return error.issues.map((i) => ({
    path: i.path.map((p) => (typeof p === "symbol" ? String(p) : p)),
    message: i.message,
  }));
}

function failure(issues: JobRequestIssue[]): ReadJobResult {
  const text = issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
  return { ok: false, message: `Invalid job request: ${text}`, issues };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Renames legacy option keys (`top_k` → `limit`, `dims` → `dimensions`) unless both are given. */
function upgradeLegacyOptions(envelope: Record<string, unknown>): Record<string, unknown> {
  const renames = typeof envelope.job === "string" ? LEGACY_OPTION_NAMES[envelope.job] : undefined;
  if (!renames || !isRecord(envelope.options)) return envelope;
  const options: Record<string, unknown> = { ...envelope.options };
  for (const [legacy, current] of Object.entries(renames)) {
    if (legacy in options && !(current in options)) {
      options[current] = options[legacy];
      delete options[legacy];
    }
  }
  return { ...envelope, options };
}

/**
 * Reads a job request from a task prompt, in this order:
 * 1. a JSON object with `job_type` is the seed's manifest form, `{"job_type", "payload"}`;
 * 2. a JSON object with `job` is the envelope form, `{"job", "input", "options"?}`;
 * 3. otherwise, when `capability` names a job, the whole prompt is that job's input text with
 *    default parameters (`{"required_capability": "text_stats", "prompt": "some text"}`);
 * 4. anything else is not a job request (`ok: null`).
 * Strict: unknown jobs, unknown or out-of-range parameters are refused, never guessed; every issue
 * names the parameter and its range. Never throws.
 */
export function readJobRequest(prompt: string, capability?: string | null): ReadJobResult {
  let parsed: unknown;
  if (prompt.trimStart().startsWith("{")) {
    try {
      parsed = JSON.parse(prompt);
    } catch {
      parsed = undefined;
    }
  }
  if (isRecord(parsed) && "job_type" in parsed) {
    const result = SeedJobSchema.safeParse(parsed);
    if (!result.success) return failure(issuesOf(result.error));
    const { text, ...options } = result.data.payload;
    const request = JobRequestSchema.parse({ job: result.data.job_type, input: text, options });
    return { ok: true, request, form: "seed" };
  }
  if (isRecord(parsed) && "job" in parsed) {
    const result = JobRequestSchema.safeParse(upgradeLegacyOptions(parsed));
    if (!result.success) return failure(issuesOf(result.error));
    return { ok: true, request: result.data, form: "envelope" };
  }
  if (isJobName(capability)) {
    return { ok: true, request: JobRequestSchema.parse({ job: capability, input: prompt }), form: "plain" };
  }
  return { ok: null };
}
