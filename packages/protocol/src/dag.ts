import { z } from "zod";
import type { TaskStatus } from "./enums";
import { TaskIdSchema } from "./ids";
import { LIMITS, utf8ByteLength } from "./limits";

/**
 * Task dependencies (DAGs). A task that depends on others is `waiting` until they settle; when the
 * last parent completes, the hub releases it with every parent's output stored beside its prompt
 * (`prompt_parts.parents`), composed in front of it at pickup. The submitted prompt is not rewritten.
 */

/** `POST /api/tasks/:id/dependencies`: more parents for a task that has not been dispatched yet. */
export const AddDependenciesBodySchema = z.strictObject({
  depends_on: z
    .array(TaskIdSchema)
    .min(1)
    .max(LIMITS.dependsOnMax)
    .refine((list) => new Set(list).size === list.length, "depends_on must not repeat a task id"),
});
export type AddDependenciesBody = z.infer<typeof AddDependenciesBodySchema>;

/** First line of the block of parent outputs a released child's composed prompt starts with. */
export const PARENT_OUTPUTS_HEADER = "OUTPUTS OF THE TASKS THIS ONE DEPENDS ON:";
/** Separates the parent outputs from the child's own prompt. */
export const DEPENDENT_TASK_MARKER = "--- YOUR TASK ---";

/** A parent as it is injected into its child's prompt. */
export interface ParentOutput {
  id: string;
  title: string;
  status: TaskStatus;
  output: string | null;
  error: string | null;
}

/** UTF-8 length of one code point starting at `s[i]`, and how many UTF-16 units it spans. */
function codePointAt(s: string, i: number): { bytes: number; units: number } {
  const unit = s.charCodeAt(i);
  if (unit < 0x80) return { bytes: 1, units: 1 };
  if (unit < 0x800) return { bytes: 2, units: 1 };
  if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < s.length) {
    const next = s.charCodeAt(i + 1);
    if (next >= 0xdc00 && next <= 0xdfff) return { bytes: 4, units: 2 };
  }
  return { bytes: 3, units: 1 };
}

/**
 * The longest prefix of `value` that fits in `maxBytes` UTF-8 bytes, never splitting a code point,
 * with the number of bytes it dropped.
 */
export function truncateUtf8(value: string, maxBytes: number): { text: string; droppedBytes: number } {
  let bytes = 0;
  let i = 0;
  while (i < value.length) {
    const cp = codePointAt(value, i);
    if (bytes + cp.bytes > maxBytes) break;
    bytes += cp.bytes;
    i += cp.units;
  }
  if (i >= value.length) return { text: value, droppedBytes: 0 };
  let dropped = 0;
  for (let j = i; j < value.length; ) {
    const cp = codePointAt(value, j);
    dropped += cp.bytes;
    j += cp.units;
  }
  return { text: value.slice(0, i), droppedBytes: dropped };
}

/**
 * Splits `budget` bytes among items of the given sizes, max-min fair ("water-filling"): small items
 * keep everything, and what they leave unused is shared among the larger ones.
 */
export function fairShares(sizes: readonly number[], budget: number): number[] {
  const shares = sizes.map(() => 0);
  const order = sizes.map((size, index) => ({ size, index })).sort((a, b) => a.size - b.size);
  let left = Math.max(0, Math.floor(budget));
  for (let k = 0; k < order.length; k++) {
    const item = order[k] as { size: number; index: number };
    const fair = Math.floor(left / (order.length - k));
    const share = Math.min(item.size, fair);
    shares[item.index] = share;
    left -= share;
  }
  return shares;
}

/**
 * The parent-outputs block of a released child (`prompt_parts.parents`): each parent's output,
 * labelled by the parent's title and id, ending with `DEPENDENT_TASK_MARKER`; the child's own prompt
 * follows it in the composed prompt. Parent outputs share `budgetBytes` (UTF-8) fairly, so the whole
 * block fits the child's model context however many parents it has; a trimmed output says how much
 * was cut. A parent that did not complete (only when fail-fast is off) contributes its error
 * instead. Null without parents.
 */
export function buildParentOutputs(input: {
  parents: readonly ParentOutput[];
  budgetBytes: number;
}): string | null {
  if (input.parents.length === 0) return null;
  const bodies = input.parents.map((p) =>
    p.status === "done"
      ? (p.output ?? "")
      : `(this task ended ${p.status}: ${p.error ?? "no error recorded"})`,
  );
  const sizes = bodies.map((body) => utf8ByteLength(body));
  const shares = fairShares(sizes, input.budgetBytes);
  const sections = input.parents.map((parent, index) => {
    const body = bodies[index] ?? "";
    const { text, droppedBytes } = truncateUtf8(body, shares[index] ?? 0);
    // Titles are labels only: newlines would let a title fake a section boundary.
    const title = parent.title.replace(/[\r\n]+/g, " ");
    const note = droppedBytes > 0 ? `\n[… trimmed ${droppedBytes} more bytes]` : "";
    return `=== ${title} (${parent.id}) ===\n${text}${note}`;
  });
  return `${PARENT_OUTPUTS_HEADER}\n\n${sections.join("\n\n")}\n\n${DEPENDENT_TASK_MARKER}`;
}

/**
 * The parent part of a released child's composed prompt: `buildParentOutputs` then the child's own
 * prompt (what `composeTaskPrompt` builds from those two parts).
 */
export function buildDependentPrompt(input: {
  prompt: string;
  parents: readonly ParentOutput[];
  budgetBytes: number;
}): string {
  const block = buildParentOutputs(input);
  return block === null ? input.prompt : `${block}\n${input.prompt}`;
}
