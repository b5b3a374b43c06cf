import { errorFromResponse } from "@m3shd/client";
import { M3shdError, StaleAttemptError, toErrorBody } from "@m3shd/protocol";
import type { RunResult } from "@m3shd/providers";
import { describe, expect, it } from "vitest";
import { loadWorkerConfig } from "./config";
import { combineRuns, outcomeOfError, runWithTools, TaskMovedOnError, toolCatalog } from "./tools";

function run(output: string, extra: Partial<RunResult> = {}): RunResult {
  return {
    output,
    usage: { input_tokens: 10, output_tokens: 5 },
    usageReported: true,
    model: "m",
    costUsd: 0.001,
    confidence: null,
    stopReason: "stop",
    attempts: 1,
    ...extra,
  };
}

const call = (tool: string, args: object) => `[TOOL_CALL] ${JSON.stringify({ tool, args })} [/TOOL_CALL]`;

/** A hub error as the client throws it for this error envelope. */
function hubError(err: M3shdError, status: number) {
  return errorFromResponse(toErrorBody(err), { status, request: "POST /api/plugins/x/invoke" });
}

describe("runWithTools", () => {
  it("invokes the tools an answer asks for and calls the model again with their results", async () => {
    const prompts: string[] = [];
    const replies = [call("web_search", { query: "q" }), "The answer, from the results."];
    const invoked: unknown[] = [];
    const result = await runWithTools("Find it.", {
      maxRounds: 3,
      model: async (prompt) => {
        prompts.push(prompt);
        return run(replies[prompts.length - 1] as string);
      },
      tool: async (tool, args) => {
        invoked.push([tool, args]);
        return { ok: true, result: { hits: ["found it"] } };
      },
    });
    expect(invoked).toEqual([["web_search", { query: "q" }]]);
    expect(prompts[0]).toBe("Find it.");
    expect(prompts[1]).toContain(
      '[TOOL_RESULT web_search]\n{"ok":true,"result":{"hits":["found it"]}}\n[/TOOL_RESULT]',
    );
    expect(result).toMatchObject({
      output: "The answer, from the results.",
      toolRounds: 1,
      toolCalls: 1,
      usage: { input_tokens: 20, output_tokens: 10 },
      attempts: 2,
    });
    expect(result.costUsd).toBeCloseTo(0.002);
  });

  it("stops after maxRounds: the next answer is final even if it asks again", async () => {
    let calls = 0;
    const result = await runWithTools("p", {
      maxRounds: 2,
      model: async () => {
        calls++;
        return run(call("t", {}));
      },
      tool: async () => ({ ok: true, result: 1 }),
    });
    expect(calls).toBe(3);
    expect(result.toolRounds).toBe(2);
    expect(result.output).toBe(call("t", {}));
    const off = await runWithTools("p", {
      maxRounds: 0,
      model: async () => run(call("t", {})),
      tool: async () => ({ ok: true, result: 1 }),
    });
    expect(off.toolRounds).toBe(0);
  });

  it("answers a malformed block and calls past the per-answer cap without invoking them", async () => {
    const prompts: string[] = [];
    const invoked: string[] = [];
    const many = `[TOOL_CALL] nope [/TOOL_CALL]${Array.from({ length: 6 }, (_, i) => call(`t${i}`, {})).join("")}`;
    await runWithTools("p", {
      maxRounds: 1,
      model: async (prompt) => {
        prompts.push(prompt);
        return run(prompts.length === 1 ? many : "done");
      },
      tool: async (tool) => {
        invoked.push(tool);
        return { ok: true, result: null };
      },
    });
    expect(invoked).toEqual(["t0", "t1", "t2", "t3"]);
    expect(prompts[1]).toContain("the tool call is not valid JSON");
    expect(prompts[1]).toContain("At most 5 tool calls per answer are made");
  });
});

describe("outcomeOfError", () => {
  it("stops the execution when the hub says the task moved on, and hands other refusals to the model", () => {
    expect(() => outcomeOfError(hubError(new StaleAttemptError("task_x", 1, 2), 409))).toThrow(
      TaskMovedOnError,
    );
    expect(() =>
      outcomeOfError(
        hubError(
          new M3shdError("conflict", "Task is done, not running", { task_id: "t", status: "done" }),
          409,
        ),
      ),
    ).toThrow(TaskMovedOnError);
    expect(() =>
      outcomeOfError(hubError(new M3shdError("forbidden", "not yours", { task_id: "t" }), 403)),
    ).toThrow(TaskMovedOnError);
    expect(
      outcomeOfError(
        hubError(new M3shdError("conflict", "Tool x is disabled", { tool: "x", plugin: "x" }), 409),
      ),
    ).toEqual({ ok: false, error: { code: "conflict", message: "Tool x is disabled" } });
    expect(outcomeOfError(hubError(new M3shdError("forbidden", "outside the root"), 403))).toEqual({
      ok: false,
      error: { code: "forbidden", message: "outside the root" },
    });
  });

  it("sums cost only over calls that had one", () => {
    expect(combineRuns([run("a", { costUsd: null }), run("b", { costUsd: null })]).costUsd).toBeNull();
  });
});

describe("toolCatalog", () => {
  const tool = (name: string, capabilities: string[]) => ({
    name,
    description: `${name} does things.`,
    capabilities,
    args_schema: { type: "object" },
  });
  const plugin = (
    name: string,
    enabled: boolean,
    tools: ReturnType<typeof tool>[],
    grants: string[] = [],
  ) => ({
    name,
    source: "builtin" as const,
    enabled,
    description: "",
    tools,
    hooks: [],
    capabilities: grants.length ? [{ name: "research", description: "", tools: grants }] : [],
  });

  it("lists the enabled tools the capability may call, with the call format", () => {
    const text = toolCatalog(
      [
        plugin("a", true, [tool("anyone", ["*"]), tool("coders", ["code"])]),
        plugin("b", false, [tool("off", ["*"])]),
        plugin("c", true, [tool("granted", ["ops"])]),
        plugin("d", true, [], ["granted"]),
      ],
      "research",
      3,
    );
    expect(text).toContain('[TOOL_CALL] {"tool": "<name>", "args": {...}} [/TOOL_CALL]');
    expect(text).toContain("You have 3 rounds of tool calls");
    expect(text).toContain('- anyone: anyone does things. Arguments (JSON Schema): {"type":"object"}');
    expect(text).toContain("- granted:");
    expect(text).not.toContain("coders");
    expect(text).not.toContain("- off:");
    expect(toolCatalog([plugin("a", true, [tool("coders", ["code"])])], "research", 1)).toBeNull();
  });

  it("is off unless asked for, by flag or environment", () => {
    const base = [
      "--hub",
      "http://h",
      "--token",
      "t",
      "--id",
      "w",
      "--capabilities",
      "c",
      "--provider",
      "jobs",
    ];
    const config = (argv: string[], env: Record<string, string> = {}) => {
      const r = loadWorkerConfig(argv, env);
      return r.kind === "run" ? r.config : null;
    };
    expect(config(base)?.toolCatalog).toBe(false);
    expect(config([...base, "--tool-catalog"])?.toolCatalog).toBe(true);
    expect(config(base, { M3SHD_TOOL_CATALOG: "true" })?.toolCatalog).toBe(true);
    expect(config(base, { M3SHD_TOOL_ROUNDS: "0" })?.toolRounds).toBe(0);
    expect(() => config(base, { M3SHD_TOOL_CATALOG: "maybe" })).toThrow(/M3SHD_TOOL_CATALOG/);
  });
});
