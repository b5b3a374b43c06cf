import {
  ANY_CAPABILITY,
  composeToolPrompt,
  type InvokeToolResponse,
  type Plugin,
  parseToolCalls,
  TOOL_CALL_CLOSE,
  TOOL_CALL_OPEN,
  TOOL_CALLS_PER_ROUND_MAX,
  type ToolOutcome,
  type ToolRound,
} from "@m3shd/protocol";
import type { RunResult } from "@m3shd/providers";
import { isHubError, isTransientHubError } from "./hub-client";

/**
 * The worker's tool loop (docs/plugins.md § "The tool-call format"): call the model; if its answer
 * has `[TOOL_CALL]` blocks and rounds are left, invoke each tool on the hub and call the model
 * again with `composeToolPrompt` (the task's prompt, every round's answer and results, what to do
 * next). The last call's answer is the task's output; usage and cost add up over every call.
 */

/** The hub says the task moved on (reclaimed, cancelled, another attempt): stop the execution. */
export class TaskMovedOnError extends Error {}

/** One model call of the loop. */
export type ModelCall = (prompt: string, round: number) => Promise<RunResult>;
/** One tool call; throws `TaskMovedOnError` when the execution must stop. */
export type ToolCall = (tool: string, args: Record<string, unknown>) => Promise<ToolOutcome>;

export interface ToolLoopResult extends RunResult {
  /** Rounds in which tools were called. */
  toolRounds: number;
  /** Tool calls made (refused ones included). */
  toolCalls: number;
}

/** Usage and cost summed over the calls; the rest from the last (the answer that counts). */
export function combineRuns(runs: readonly RunResult[]): RunResult {
  const last = runs.at(-1);
  if (!last) throw new Error("combineRuns: no runs");
  const sum = (f: (r: RunResult) => number) => runs.reduce((n, r) => n + f(r), 0);
  const cached = runs.some((r) => r.usage.cached_input_tokens !== undefined)
    ? { cached_input_tokens: sum((r) => r.usage.cached_input_tokens ?? 0) }
    : {};
  const costs = runs.map((r) => r.costUsd).filter((c): c is number => c !== null);
  return {
    ...last,
    usage: {
      input_tokens: sum((r) => r.usage.input_tokens),
      output_tokens: sum((r) => r.usage.output_tokens),
      ...cached,
    },
    usageReported: runs.some((r) => r.usageReported),
    costUsd: costs.length > 0 ? costs.reduce((a, b) => a + b, 0) : null,
    attempts: sum((r) => r.attempts),
  };
}

/** Runs the model, and the tools it asks for, for at most `maxRounds` rounds of tool calls. */
export async function runWithTools(
  prompt: string,
  options: { maxRounds: number; model: ModelCall; tool: ToolCall },
): Promise<ToolLoopResult> {
  const rounds: ToolRound[] = [];
  const runs: RunResult[] = [];
  let toolCalls = 0;
  for (;;) {
    const next =
      rounds.length === 0 ? prompt : composeToolPrompt(prompt, rounds, options.maxRounds - rounds.length);
    const run = await options.model(next, rounds.length);
    runs.push(run);
    if (rounds.length >= options.maxRounds) break;
    const calls = parseToolCalls(run.output);
    if (calls.length === 0) break;
    const results: ToolRound["results"] = [];
    for (const [i, call] of calls.entries()) {
      toolCalls++;
      const name = call.tool ?? "invalid";
      if (i >= TOOL_CALLS_PER_ROUND_MAX) {
        results.push({
          tool: name,
          outcome: {
            ok: false,
            error: {
              code: "bad_request",
              message: `At most ${TOOL_CALLS_PER_ROUND_MAX} tool calls per answer are made`,
            },
          },
        });
      } else if (!call.ok) {
        results.push({
          tool: name,
          outcome: { ok: false, error: { code: "bad_request", message: call.reason } },
        });
      } else {
        results.push({ tool: call.tool, outcome: await options.tool(call.tool, call.args) });
      }
    }
    rounds.push({ output: run.output, results });
  }
  return { ...combineRuns(runs), toolRounds: rounds.length, toolCalls };
}

/** A tool response as the model sees it. */
export function outcomeOf(res: InvokeToolResponse): ToolOutcome {
  return res.ok ? { ok: true, result: res.result } : { ok: false, error: res.error };
}

/**
 * What a failed invoke means. The hub saying the task moved on — a stale attempt, a task no longer
 * running, reclaimed by another agent, gone — stops the execution (`TaskMovedOnError`), as a
 * refused chunk does. Any other refusal (unknown or disabled tool, not allowed for the capability,
 * bad arguments, a path outside the root) is the tool's answer for the model to read; so is an
 * unreachable hub, after which the model may carry on without the tool.
 */
export function outcomeOfError(err: unknown): ToolOutcome {
  if (isHubError(err)) {
    const details = (err.details ?? {}) as { task_id?: unknown; resource?: unknown; status?: unknown };
    const aboutTask =
      (err.status === 409 && (err.code === "stale_attempt" || typeof details.status === "string")) ||
      (err.status === 403 && typeof details.task_id === "string") ||
      (err.status === 404 && details.resource === "task");
    if (aboutTask) throw new TaskMovedOnError(`the hub refused the tool call: ${err.message}`);
    // The client prefixes the request and status; the model needs the hub's own words.
    const prefix = `${err.request}: ${err.status} `;
    const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
    return { ok: false, error: { code: err.code, message } };
  }
  if (isTransientHubError(err)) {
    return {
      ok: false,
      error: { code: "unavailable", message: "The hub could not be reached for the tool call" },
    };
  }
  throw err;
}

/**
 * The system-prompt text listing the tools a task may call (`--tool-catalog`): the enabled
 * plugins' tools allowed for `capability` (by the tool's own list or an enabled plugin's
 * capability declaration), each with its description and argument schema, and the call format.
 * Null when there is none.
 */
export function toolCatalog(
  plugins: readonly Plugin[],
  capability: string,
  maxRounds: number,
): string | null {
  const enabled = plugins.filter((p) => p.enabled);
  const granted = new Set(
    enabled.flatMap((p) => p.capabilities.filter((c) => c.name === capability).flatMap((c) => c.tools)),
  );
  const tools = enabled
    .flatMap((p) => p.tools)
    .filter(
      (t) =>
        t.capabilities.includes(ANY_CAPABILITY) || t.capabilities.includes(capability) || granted.has(t.name),
    );
  if (tools.length === 0) return null;
  return [
    `You can call tools. To call one, write ${TOOL_CALL_OPEN} {"tool": "<name>", "args": {...}} ${TOOL_CALL_CLOSE} ` +
      `(at most ${TOOL_CALLS_PER_ROUND_MAX} per answer) and stop: the results come back in the next prompt. ` +
      `You have ${maxRounds} round${maxRounds === 1 ? "" : "s"} of tool calls; an answer without a tool call is your final answer.`,
    "Tools:",
    ...tools.map(
      (t) => `- ${t.name}: ${t.description} Arguments (JSON Schema): ${JSON.stringify(t.args_schema)}`,
    ),
  ].join("\n");
}
