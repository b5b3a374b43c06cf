import { z } from "zod";
import { TaskIdSchema } from "./ids";

/**
 * The prompt a worker receives is composed, at pickup, from parts stored beside the submitted
 * prompt; the submitted prompt (`Task.prompt`) is never rewritten. Composition, innermost first:
 *
 * 1. the submitted prompt;
 * 2. parent outputs (a released DAG child): `<parents block>\n<prompt>`, the block ending with
 *    `DEPENDENT_TASK_MARKER` (see `buildParentOutputs`);
 * 3. each handoff a continuation carries on from, oldest first:
 *    `CONTINUATION_PROMPT_PREFIX\n<partial output>\n\n---\nORIGINAL TASK:\n<the above>`;
 * 4. the agent's recalled memories (`MEMORY_BLOCK_OPEN … MEMORY_BLOCK_CLOSE`), then `\n\n`, then the above.
 *
 * Memory text is recalled for the claiming agent at each pickup and never stored by the hub: only
 * the claim response (seen by that agent alone) carries it.
 */

/** Prefix of a continuation's composed prompt, before the partial output. */
export const CONTINUATION_PROMPT_PREFIX = "CONTINUE FROM PREVIOUS AGENT'S PARTIAL WORK:";

/** One handoff a continuation carries on from. */
export const HandoffPartSchema = z.object({
  /** The suspended task that handed off. */
  task_id: TaskIdSchema,
  /** What it had done so far. */
  partial_output: z.string(),
});
export type HandoffPart = z.infer<typeof HandoffPartSchema>;

/** What memory recall at pickup contributed. */
export const MemoryPartSchema = z.object({
  /**
   * `injected` (with the block's size in characters), `none` (nothing matched), `unavailable` (the
   * memory service was down; the task ran without) or `disabled`.
   */
  status: z.enum(["injected", "none", "unavailable", "disabled"]),
  chars: z.int().min(0),
  /**
   * The recalled block itself: present only in the claim response to the agent it was recalled
   * for. The hub never stores it, so no task view (whoever reads it) carries it.
   */
  text: z.string().optional(),
});
export type MemoryPart = z.infer<typeof MemoryPartSchema>;

/** The parts composed with the submitted prompt (see `composeTaskPrompt`). */
export const PromptPartsSchema = z.object({
  /** Recalled agent memory of the latest pickup; null before the first pickup. */
  memory: MemoryPartSchema.nullable(),
  /** The parent-outputs block written when the DAG released the task; null for a task without parents. */
  parents: z.string().nullable(),
  /** For a continuation: the handoffs it carries on from, oldest first; empty otherwise. */
  handoffs: z.array(HandoffPartSchema),
});
export type PromptParts = z.infer<typeof PromptPartsSchema>;

/** Composes the prompt a worker receives from the submitted prompt and its parts (order above). */
export function composeTaskPrompt(input: {
  prompt: string;
  parents?: string | null;
  handoffs?: readonly HandoffPart[] | null;
  memory?: string | null;
}): string {
  let body = input.parents ? `${input.parents}\n${input.prompt}` : input.prompt;
  for (const handoff of input.handoffs ?? []) {
    body = `${CONTINUATION_PROMPT_PREFIX}\n${handoff.partial_output}\n\n---\nORIGINAL TASK:\n${body}`;
  }
  return input.memory ? `${input.memory}\n\n${body}` : body;
}
