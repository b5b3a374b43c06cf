import { z } from "zod";
import { AgentIdSchema, CapabilitySchema, prefixedIdSchema, TaskIdSchema } from "./ids";
import { boundedString, LIMITS } from "./limits";
import { DeadlineInputSchema, PrioritySchema, TaskSchema } from "./task";
import { TemplateNameSchema, TemplateVariablesSchema } from "./template";

/**
 * Pipelines: several tasks created in one transaction, wired sequentially (each step waits for the
 * previous one and receives its output) or as an explicit DAG (each step names its parents). Every
 * task of a pipeline carries its `pipeline_id`, so their signed results form one provenance chain.
 */

/** Pipeline id: `pipe_` + ULID. */
export const PipelineIdSchema = prefixedIdSchema("pipe");
export type PipelineId = z.infer<typeof PipelineIdSchema>;

/** Steps one pipeline may have. */
export const PIPELINE_STEPS_MAX = 200;

/** A step's name, unique within its pipeline; parents are named by it. */
export const StepNameSchema = z
  .string()
  .regex(/^[a-z0-9_-]{1,64}$/, "Expected a step name matching ^[a-z0-9_-]{1,64}$");

/**
 * One step: either a prompt with its capability (and title), or a template by id or name with its
 * variables (title and capability default to the template's).
 */
export const PipelineStepSchema = z
  .strictObject({
    /** Defaults to `step-<n>` (1-based position). */
    name: StepNameSchema.optional(),
    title: z.string().trim().min(1).max(LIMITS.titleChars).optional(),
    prompt: boundedString(LIMITS.promptBytes).min(1).optional(),
    required_capability: CapabilitySchema.optional(),
    /** A template id (`tpl_…`) or name. */
    template: TemplateNameSchema.optional(),
    variables: TemplateVariablesSchema.optional(),
    priority: PrioritySchema.optional(),
    assign_to: AgentIdSchema.optional(),
    deadline: DeadlineInputSchema.optional(),
    max_attempts: z.int().min(1).max(LIMITS.maxAttemptsMax).optional(),
    /** DAG mode only: names of the steps this one waits for. */
    depends_on: z
      .array(StepNameSchema)
      .max(LIMITS.dependsOnMax)
      .refine((list) => new Set(list).size === list.length, "depends_on must not repeat a step")
      .optional(),
    /** Existing tasks (outside this pipeline) this step also waits for. */
    after: z
      .array(TaskIdSchema)
      .max(LIMITS.dependsOnMax)
      .refine((list) => new Set(list).size === list.length, "after must not repeat a task id")
      .optional(),
  })
  .superRefine((step, ctx) => {
    if (step.template !== undefined) {
      if (step.prompt !== undefined)
        ctx.addIssue({ code: "custom", path: ["prompt"], message: "A template step takes no prompt" });
      return;
    }
    if (step.variables !== undefined)
      ctx.addIssue({ code: "custom", path: ["variables"], message: "variables need a template" });
    for (const key of ["title", "prompt", "required_capability"] as const) {
      if (step[key] === undefined)
        ctx.addIssue({ code: "custom", path: [key], message: `${key} is required without a template` });
    }
  });
export type PipelineStep = z.output<typeof PipelineStepSchema>;

export const PIPELINE_MODES = [
  "sequential", // step n+1 depends on step n
  "dag", // each step names its parents in depends_on
] as const;

/** `POST /api/pipelines`. */
export const CreatePipelineBodySchema = z
  .strictObject({
    /** A label for people; not unique. */
    name: z.string().trim().min(1).max(LIMITS.titleChars).optional(),
    mode: z.enum(PIPELINE_MODES).default("sequential"),
    steps: z.array(PipelineStepSchema).min(1).max(PIPELINE_STEPS_MAX),
  })
  .superRefine((body, ctx) => {
    const names = body.steps.map((step, i) => step.name ?? `step-${i + 1}`);
    const seen = new Map<string, number>();
    names.forEach((name, i) => {
      if (seen.has(name))
        ctx.addIssue({ code: "custom", path: ["steps", i, "name"], message: `Duplicate step name ${name}` });
      seen.set(name, i);
    });
    body.steps.forEach((step, i) => {
      if (step.depends_on === undefined) return;
      if (body.mode === "sequential") {
        ctx.addIssue({
          code: "custom",
          path: ["steps", i, "depends_on"],
          message: 'depends_on needs mode "dag" (sequential steps are wired in order)',
        });
        return;
      }
      step.depends_on.forEach((parent, j) => {
        if (!seen.has(parent))
          ctx.addIssue({
            code: "custom",
            path: ["steps", i, "depends_on", j],
            message: `Unknown step ${parent}`,
          });
      });
    });
  });
export type CreatePipelineBody = z.output<typeof CreatePipelineBodySchema>;
export type CreatePipelineInput = z.input<typeof CreatePipelineBodySchema>;

/** `POST /api/pipelines` (201) and `GET /api/pipelines/:id`. */
export const PipelineResponseSchema = z.object({
  pipeline_id: PipelineIdSchema,
  /** Step names and their task ids, in the order the steps were given (empty for a GET). */
  steps: z.array(z.object({ name: StepNameSchema, task_id: TaskIdSchema })),
  /** The pipeline's tasks, oldest first. */
  tasks: z.array(TaskSchema),
});
export type PipelineResponse = z.infer<typeof PipelineResponseSchema>;
