import { z } from "zod";
import { AgentSchema } from "./agent";
import { TaskStatusSchema } from "./enums";
import { AgentIdSchema, CapabilitySchema } from "./ids";
import { LIMITS } from "./limits";
import { TaskSchema } from "./task";
import { TemplateIdSchema } from "./template";

/** Spoken or typed free text: a sentence, not a document. */
export const UtteranceSchema = z.string().trim().min(1).max(500);

/** `POST /api/voice/dispatch`. */
export const VoiceDispatchBodySchema = z.strictObject({
  text: UtteranceSchema,
  /** Only say what would be dispatched. */
  dry_run: z.boolean().default(false),
});
export type VoiceDispatchBody = z.output<typeof VoiceDispatchBodySchema>;

/** What a sentence was understood as, and what was done. `reply` is ready to be spoken. */
export const VoiceDispatchResponseSchema = z.object({
  template: z.object({ id: TemplateIdSchema, name: z.string() }),
  variables: z.record(z.string(), z.string()),
  /** `pattern`: the deterministic matcher; `model`: the configured interpreter model. */
  matched_by: z.enum(["pattern", "model"]),
  /** The dispatched task; null on a dry run. */
  task: TaskSchema.nullable(),
  reply: z.string(),
});
export type VoiceDispatchResponse = z.infer<typeof VoiceDispatchResponseSchema>;

/** Time windows a monitoring question may name. */
export const CONTROL_WINDOWS = ["today", "week", "month", "all"] as const;

/**
 * The closed set of operations natural-language mesh control may perform. Nothing outside it is
 * ever applied: a sentence (or a model's reading of one) that does not become one of these is
 * refused with an explanation.
 */
export const MeshOperationSchema = z.discriminatedUnion("op", [
  z.strictObject({
    /** "move rex to code-review only": the agent receives only these capabilities' work. */
    op: z.literal("restrict_capabilities"),
    agent: AgentIdSchema,
    capabilities: z.array(CapabilitySchema).min(1).max(LIMITS.capabilitiesMax),
  }),
  z.strictObject({
    /** "let rex take any work again": lift an operator restriction. */
    op: z.literal("clear_restriction"),
    agent: AgentIdSchema,
  }),
  z.strictObject({
    /** "take crucible offline for maintenance" / "bring crucible back": no new work while on. */
    op: z.literal("set_maintenance"),
    agent: AgentIdSchema,
    maintenance: z.boolean(),
  }),
  z.strictObject({
    /** "set archon max concurrent to 3": a ceiling under the worker's own slots. */
    op: z.literal("set_max_concurrent"),
    agent: AgentIdSchema,
    max_concurrent: z.int().min(1).max(LIMITS.maxConcurrentMax),
  }),
  z.strictObject({
    /** "how many tasks has rex completed this week": read-only, answered at once. */
    op: z.literal("count_tasks"),
    agent: AgentIdSchema,
    status: TaskStatusSchema,
    window: z.enum(CONTROL_WINDOWS),
  }),
]);
export type MeshOperation = z.infer<typeof MeshOperationSchema>;

/** `POST /api/mesh/control`: a sentence to interpret, or an operation (shown by a dry run) to apply. */
export const MeshControlBodySchema = z
  .strictObject({
    text: UtteranceSchema.optional(),
    operation: MeshOperationSchema.optional(),
    /** Default true: show the operation, change nothing. Send `operation` with `false` to apply it. */
    dry_run: z.boolean().default(true),
  })
  .refine(
    (b) => (b.text === undefined) !== (b.operation === undefined),
    "Send exactly one of text or operation",
  );
export type MeshControlBody = z.output<typeof MeshControlBodySchema>;

export const MeshControlResponseSchema = z.object({
  operation: MeshOperationSchema,
  /** `parser`: the deterministic phrasings; `model`: the interpreter model; `given`: sent as is. */
  interpreted_by: z.enum(["parser", "model", "given"]),
  applied: z.boolean(),
  /** One sentence saying what this does (or did). */
  summary: z.string(),
  /** A read-only operation's answer. */
  count: z.int().min(0).optional(),
  /** The agent after an applied change. */
  agent: AgentSchema.optional(),
});
export type MeshControlResponse = z.infer<typeof MeshControlResponseSchema>;
