import { describe, expect, it } from "vitest";
import { makeTask } from "../test/fixtures";
import {
  buildDependentPrompt,
  buildParentOutputs,
  DEPENDENT_TASK_MARKER,
  PARENT_OUTPUTS_HEADER,
} from "./dag";
import { CONTINUATION_PROMPT_PREFIX, composeTaskPrompt } from "./prompt";
import { HeartbeatResponseSchema, NextTaskResponseSchema } from "./routes/tasks";
import { CompleteTaskBodySchema, HandoffBodySchema, StreamChunkBodySchema } from "./task";

describe("composeTaskPrompt", () => {
  it("is the prompt itself without parts", () => {
    expect(composeTaskPrompt({ prompt: "as submitted \r\n" })).toBe("as submitted \r\n");
  });

  it("puts parents, then each handoff (oldest innermost), then memory in front of the prompt", () => {
    const parents = buildParentOutputs({
      parents: [{ id: "task_a", title: "A", status: "done", output: "out A", error: null }],
      budgetBytes: 1000,
    });
    expect(parents).toBe(`${PARENT_OUTPUTS_HEADER}\n\n=== A (task_a) ===\nout A\n\n${DEPENDENT_TASK_MARKER}`);
    const composed = composeTaskPrompt({
      prompt: "P",
      parents,
      handoffs: [
        { task_id: "task_1", partial_output: "first half" },
        { task_id: "task_2", partial_output: "second half" },
      ],
      memory: "[MEMORY]m[/MEMORY]",
    });
    const inner = `${CONTINUATION_PROMPT_PREFIX}\nfirst half\n\n---\nORIGINAL TASK:\n${parents}\nP`;
    expect(composed).toBe(
      `[MEMORY]m[/MEMORY]\n\n${CONTINUATION_PROMPT_PREFIX}\nsecond half\n\n---\nORIGINAL TASK:\n${inner}`,
    );
  });

  it("composes parents exactly as buildDependentPrompt did", () => {
    const list = [
      { id: "task_a", title: "A", status: "done" as const, output: "x".repeat(50), error: null },
      { id: "task_b", title: "B\nfake", status: "failed" as const, output: null, error: "boom" },
    ];
    const parents = buildParentOutputs({ parents: list, budgetBytes: 20 });
    expect(composeTaskPrompt({ prompt: "go", parents })).toBe(
      buildDependentPrompt({ prompt: "go", parents: list, budgetBytes: 20 }),
    );
    expect(buildParentOutputs({ parents: [], budgetBytes: 10 })).toBeNull();
  });
});

describe("the fenced worker contract", () => {
  it("requires the attempt on every worker write", () => {
    expect(StreamChunkBodySchema.safeParse({ content: "x" }).success).toBe(false);
    expect(StreamChunkBodySchema.safeParse({ content: "x", attempt: 0 }).success).toBe(false);
    expect(StreamChunkBodySchema.parse({ content: "x", attempt: 2 })).toEqual({ content: "x", attempt: 2 });
    expect(CompleteTaskBodySchema.safeParse({ status: "done", output: "o" }).success).toBe(false);
    expect(CompleteTaskBodySchema.safeParse({ status: "failed", error: "e", attempt: 1 }).success).toBe(true);
    expect(HandoffBodySchema.safeParse({ partial_output: "" }).success).toBe(false);
    expect(HandoffBodySchema.safeParse({ partial_output: "", attempt: 3 }).success).toBe(true);
  });

  it("claims carry the attempt and heartbeats always carry the cancelled list", () => {
    const task = makeTask({ status: "running", attempt: 1, attempts: 1 });
    expect(NextTaskResponseSchema.safeParse({ task }).success).toBe(false);
    expect(NextTaskResponseSchema.parse({ task, attempt: 1 }).attempt).toBe(1);
    const beat = { ok: true, status: "online", server_time: 1 };
    expect(HeartbeatResponseSchema.safeParse(beat).success).toBe(false);
    expect(HeartbeatResponseSchema.parse({ ...beat, cancelled: [] }).cancelled).toEqual([]);
  });
});
