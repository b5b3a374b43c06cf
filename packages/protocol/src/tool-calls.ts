/**
 * The tool-call text format between a model and the worker (docs/plugins.md § "The tool-call
 * format"). A model asks for a tool by writing a block in its output:
 *
 *     [TOOL_CALL] {"tool": "web_search", "args": {"query": "storekit 2 pricing"}} [/TOOL_CALL]
 *
 * The worker invokes each block's tool on the hub and calls the model again with the prompt that
 * `composeToolPrompt` builds: the task's prompt, then every round so far (the model's output and
 * each tool's result as one JSON line), then an instruction. Pure functions, shared by the worker
 * and the tests, so the format is defined once.
 */

export const TOOL_CALL_OPEN = "[TOOL_CALL]";
export const TOOL_CALL_CLOSE = "[/TOOL_CALL]";

/** Tool calls acted on per model answer; further blocks get a refusal result. */
export const TOOL_CALLS_PER_ROUND_MAX = 5;
/** A tool result is cut to this many characters in the next prompt. */
export const TOOL_RESULT_PROMPT_CHARS = 16_000;
/** A model answer is cut to this many characters when a later prompt repeats it. */
export const TOOL_OUTPUT_PROMPT_CHARS = 16_000;

/** One block from a model's answer: a call to make, or why the block could not be read. */
export type ParsedToolCall =
  | { ok: true; tool: string; args: Record<string, unknown> }
  | { ok: false; tool: string | null; reason: string };

const BLOCK = /\[TOOL_CALL\]([\s\S]*?)\[\/TOOL_CALL\]/g;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The tool-call blocks of a model answer, in order. A block is a JSON object with a string `tool`;
 * its arguments are `args` when that is an object, else every other key (`{"tool": "x", "q": 1}`).
 * A block that is not such an object is returned as a failed call (the model is told why).
 */
export function parseToolCalls(text: string): ParsedToolCall[] {
  const calls: ParsedToolCall[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const inner = (match[1] ?? "").trim();
    let value: unknown;
    try {
      value = JSON.parse(inner);
    } catch {
      calls.push({ ok: false, tool: null, reason: "the tool call is not valid JSON" });
      continue;
    }
    if (!isRecord(value) || typeof value.tool !== "string" || value.tool === "") {
      calls.push({ ok: false, tool: null, reason: 'the tool call needs a string "tool"' });
      continue;
    }
    const { tool, ...rest } = value;
    if ("args" in rest) {
      if (!isRecord(rest.args)) {
        calls.push({ ok: false, tool, reason: '"args" must be a JSON object' });
        continue;
      }
      calls.push({ ok: true, tool, args: rest.args });
    } else {
      calls.push({ ok: true, tool, args: rest });
    }
  }
  return calls;
}

/** Whether a model answer asks for any tool. */
export function hasToolCalls(text: string): boolean {
  return text.includes(TOOL_CALL_OPEN) && parseToolCalls(text).length > 0;
}

/** A tool's answer as the model sees it: the result, or the error. */
export type ToolOutcome =
  | { ok: true; result: unknown }
  | { ok: false; error: { code: string; message: string } };

/** One round: what the model answered, and each tool call's outcome in order. */
export interface ToolRound {
  output: string;
  results: { tool: string; outcome: ToolOutcome }[];
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[cut: ${text.length - max} more characters]`;
}

/**
 * One result as a single JSON line. A result is outside text (a web page, a file): the markers are
 * escaped inside it (valid JSON escapes, the same string once parsed) so it cannot close its own
 * block or pose as a call.
 */
export function formatToolOutcome(outcome: ToolOutcome): string {
  const json = JSON.stringify(outcome) ?? "null";
  const safe = json
    .replaceAll("[/TOOL_RESULT]", "[\\/TOOL_RESULT]")
    .replaceAll("[/TOOL_CALL]", "[\\/TOOL_CALL]")
    .replaceAll("[TOOL_CALL]", "[TOOL\\u005fCALL]")
    .replaceAll("[TOOL_RESULT", "[TOOL\\u005fRESULT");
  return clip(safe, TOOL_RESULT_PROMPT_CHARS);
}

/**
 * The prompt of the model call after `rounds` (at least one): the task's prompt, each round's
 * answer and results, and what to do next. `roundsLeft` is how many more rounds of tool calls the
 * worker will still act on after this call.
 */
export function composeToolPrompt(prompt: string, rounds: readonly ToolRound[], roundsLeft: number): string {
  const parts: string[] = [prompt];
  rounds.forEach((round, i) => {
    const n = i + 1;
    const lines = [
      `=== Tool round ${n} ===`,
      "[MODEL_OUTPUT]",
      clip(round.output, TOOL_OUTPUT_PROMPT_CHARS),
      "[/MODEL_OUTPUT]",
    ];
    for (const { tool, outcome } of round.results) {
      lines.push(`[TOOL_RESULT ${tool}]`, formatToolOutcome(outcome), "[/TOOL_RESULT]");
    }
    lines.push(`=== End of tool round ${n} ===`);
    parts.push(lines.join("\n"));
  });
  parts.push(
    roundsLeft > 0
      ? `Continue the task with these tool results. Reply with your final answer, or call tools again with ${TOOL_CALL_OPEN} {"tool": "<name>", "args": {...}} ${TOOL_CALL_CLOSE} (${roundsLeft} tool round${roundsLeft === 1 ? "" : "s"} left).`
      : "Continue the task with these tool results. No tool rounds are left: reply with your final answer.",
  );
  return parts.join("\n\n");
}
