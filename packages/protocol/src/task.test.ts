import { describe, expect, it } from "vitest";
import { makeTask, NOW } from "../test/fixtures";
import { newId } from "./ids";
import {
  CancelTaskBodySchema,
  CompleteTaskBodySchema,
  CreateTaskBodySchema,
  HandoffBodySchema,
  ListTasksQuerySchema,
  NextTaskQuerySchema,
  StreamChunkBodySchema,
  TaskListResponseSchema,
  TaskSchema,
} from "./task";

const minimal = { title: "Research", prompt: "Find out", required_capability: "research" };

describe("CreateTaskBodySchema", () => {
  it("applies defaults", () => {
    expect(CreateTaskBodySchema.parse(minimal)).toEqual({
      ...minimal,
      priority: 5,
      depends_on: [],
      max_attempts: 3,
    });
  });

  it("rejects unknown keys (strict)", () => {
    const result = CreateTaskBodySchema.safeParse({ ...minimal, status: "done" });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code: "unrecognized_keys", keys: ["status"] });
  });

  it("trims the title and bounds it at 200 characters", () => {
    expect(CreateTaskBodySchema.parse({ ...minimal, title: "  x  " }).title).toBe("x");
    expect(CreateTaskBodySchema.safeParse({ ...minimal, title: "   " }).success).toBe(false);
    expect(CreateTaskBodySchema.safeParse({ ...minimal, title: "t".repeat(200) }).success).toBe(true);
    expect(CreateTaskBodySchema.safeParse({ ...minimal, title: "t".repeat(201) }).success).toBe(false);
  });

  it("limits the prompt to 8 KB of UTF-8, not 8 K characters", () => {
    expect(CreateTaskBodySchema.safeParse({ ...minimal, prompt: "é".repeat(4096) }).success).toBe(true);
    const tooBig = CreateTaskBodySchema.safeParse({ ...minimal, prompt: "é".repeat(4097) });
    expect(tooBig.success).toBe(false);
    expect(tooBig.error?.issues[0]).toMatchObject({ code: "too_big", maximum: 8192, path: ["prompt"] });
    expect(CreateTaskBodySchema.safeParse({ ...minimal, prompt: "" }).success).toBe(false);
  });

  it("bounds priority to 1..10 integers", () => {
    expect(CreateTaskBodySchema.parse({ ...minimal, priority: 10 }).priority).toBe(10);
    expect(CreateTaskBodySchema.safeParse({ ...minimal, priority: 0 }).success).toBe(false);
    expect(CreateTaskBodySchema.safeParse({ ...minimal, priority: 11 }).success).toBe(false);
    expect(CreateTaskBodySchema.safeParse({ ...minimal, priority: 5.5 }).success).toBe(false);
    expect(CreateTaskBodySchema.safeParse({ ...minimal, priority: "5" }).success).toBe(false);
  });

  describe("deadline", () => {
    it("keeps epoch milliseconds", () => {
      expect(CreateTaskBodySchema.parse({ ...minimal, deadline: NOW }).deadline).toBe(NOW);
    });

    it("coerces an ISO date-time with Z to epoch ms", () => {
      expect(CreateTaskBodySchema.parse({ ...minimal, deadline: "2025-06-15T12:00:00Z" }).deadline).toBe(
        Date.UTC(2025, 5, 15, 12),
      );
      expect(CreateTaskBodySchema.parse({ ...minimal, deadline: "2025-06-15T12:00:00.250Z" }).deadline).toBe(
        Date.UTC(2025, 5, 15, 12, 0, 0, 250),
      );
    });

    it("honours an explicit offset", () => {
      expect(CreateTaskBodySchema.parse({ ...minimal, deadline: "2025-06-15T14:00:00+02:00" }).deadline).toBe(
        Date.UTC(2025, 5, 15, 12),
      );
    });

    it.each([
      ["local time without offset", "2025-06-15T12:00:00"],
      ["date only", "2025-06-15"],
      ["garbage", "tomorrow"],
      ["numeric string", "1750000000000"],
      ["negative ms", -1],
      ["fractional ms", 1.5],
      ["impossible date", "2025-02-30T00:00:00Z"],
    ])("rejects %s", (_label, deadline) => {
      expect(CreateTaskBodySchema.safeParse({ ...minimal, deadline }).success).toBe(false);
    });
  });

  it("validates depends_on: task ids, unique, at most 100", () => {
    const ids = Array.from({ length: 100 }, () => newId("task"));
    expect(CreateTaskBodySchema.parse({ ...minimal, depends_on: ids }).depends_on).toEqual(ids);
    expect(CreateTaskBodySchema.safeParse({ ...minimal, depends_on: [...ids, newId("task")] }).success).toBe(
      false,
    );
    const first = ids[0] ?? "";
    expect(CreateTaskBodySchema.safeParse({ ...minimal, depends_on: [first, first] }).success).toBe(false);
    expect(CreateTaskBodySchema.safeParse({ ...minimal, depends_on: ["task_1"] }).success).toBe(false);
  });

  it("bounds max_attempts to 1..10", () => {
    expect(CreateTaskBodySchema.parse({ ...minimal, max_attempts: 1 }).max_attempts).toBe(1);
    expect(CreateTaskBodySchema.safeParse({ ...minimal, max_attempts: 0 }).success).toBe(false);
    expect(CreateTaskBodySchema.safeParse({ ...minimal, max_attempts: 11 }).success).toBe(false);
  });

  it("validates assign_to as an agent id", () => {
    expect(CreateTaskBodySchema.parse({ ...minimal, assign_to: "gpu-1" }).assign_to).toBe("gpu-1");
    expect(CreateTaskBodySchema.safeParse({ ...minimal, assign_to: "GPU_1" }).success).toBe(false);
  });
});

describe("ListTasksQuerySchema", () => {
  it("coerces limit from a query string and defaults it to 50", () => {
    expect(ListTasksQuerySchema.parse({})).toEqual({ limit: 50 });
    expect(ListTasksQuerySchema.parse({ limit: "500", status: "queued", agent: "a-1" })).toEqual({
      limit: 500,
      status: "queued",
      agent: "a-1",
    });
  });

  it.each(["0", "501", "abc", "", "1.5", "-1"])("rejects limit=%j", (limit) => {
    expect(ListTasksQuerySchema.safeParse({ limit }).success).toBe(false);
  });

  it("rejects unknown statuses, bad cursors and unknown params", () => {
    expect(ListTasksQuerySchema.safeParse({ status: "finished" }).success).toBe(false);
    expect(ListTasksQuerySchema.safeParse({ cursor: "abc=" }).success).toBe(false);
    expect(ListTasksQuerySchema.safeParse({ sort: "asc" }).success).toBe(false);
    expect(ListTasksQuerySchema.safeParse({ cursor: "eyJ0IjoxfQ" }).success).toBe(true);
  });
});

describe("NextTaskQuerySchema", () => {
  it("coerces wait and caps it at 30 s", () => {
    expect(NextTaskQuerySchema.parse({})).toEqual({ wait: 0 });
    expect(NextTaskQuerySchema.parse({ wait: "30" })).toEqual({ wait: 30 });
    expect(NextTaskQuerySchema.safeParse({ wait: "31" }).success).toBe(false);
  });
});

describe("CompleteTaskBodySchema", () => {
  it("parses a done completion", () => {
    expect(
      CompleteTaskBodySchema.parse({
        attempt: 1,
        status: "done",
        output: "42",
        usage: { input_tokens: 10, output_tokens: 2 },
        model: "gpt-5",
        confidence: 0.9,
        cost_usd: 0.0012,
      }),
    ).toEqual({
      attempt: 1,
      status: "done",
      output: "42",
      usage: { input_tokens: 10, output_tokens: 2 },
      model: "gpt-5",
      confidence: 0.9,
      cost_usd: 0.0012,
    });
  });

  it("parses a failure and defaults retryable to true", () => {
    expect(CompleteTaskBodySchema.parse({ attempt: 1, status: "failed", error: "rate limited" })).toEqual({
      attempt: 1,
      status: "failed",
      error: "rate limited",
      retryable: true,
    });
    expect(
      CompleteTaskBodySchema.parse({ attempt: 1, status: "failed", error: "bad input", retryable: false }),
    ).toMatchObject({ retryable: false });
  });

  it("keeps the members apart", () => {
    // output belongs to done, error to failed: each is an unknown key on the other member
    expect(
      CompleteTaskBodySchema.safeParse({ attempt: 1, status: "failed", error: "x", output: "y" }).success,
    ).toBe(false);
    expect(
      CompleteTaskBodySchema.safeParse({ attempt: 1, status: "done", output: "y", error: "x" }).success,
    ).toBe(false);
    expect(
      CompleteTaskBodySchema.safeParse({ attempt: 1, status: "done", output: "y", retryable: true }).success,
    ).toBe(false);
    expect(CompleteTaskBodySchema.safeParse({ attempt: 1, status: "failed" }).success).toBe(false);
    expect(CompleteTaskBodySchema.safeParse({ attempt: 1, status: "done" }).success).toBe(false);
  });

  it("rejects other statuses with the discriminator named", () => {
    const result = CompleteTaskBodySchema.safeParse({ attempt: 1, status: "running", output: "x" });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code: "invalid_union", path: ["status"] });
  });

  it("bounds confidence, usage and the error message", () => {
    expect(
      CompleteTaskBodySchema.safeParse({ attempt: 1, status: "done", output: "", confidence: 1.01 }).success,
    ).toBe(false);
    expect(
      CompleteTaskBodySchema.safeParse({
        status: "done",
        output: "",
        usage: { input_tokens: -1, output_tokens: 0 },
      }).success,
    ).toBe(false);
    expect(
      CompleteTaskBodySchema.safeParse({
        attempt: 1,
        status: "done",
        output: "",
        usage: { input_tokens: 1, output_tokens: 0, total: 1 },
      }).success,
    ).toBe(false);
    expect(
      CompleteTaskBodySchema.safeParse({ attempt: 1, status: "failed", error: "€".repeat(2731) }).success,
    ).toBe(false);
    expect(
      CompleteTaskBodySchema.safeParse({ attempt: 1, status: "failed", error: "€".repeat(2730) }).success,
    ).toBe(true);
  });
});

describe("StreamChunkBodySchema", () => {
  it("limits content to 64 KB of UTF-8", () => {
    expect(StreamChunkBodySchema.safeParse({ attempt: 1, content: "👋".repeat(16384) }).success).toBe(true);
    expect(StreamChunkBodySchema.safeParse({ attempt: 1, content: `${"👋".repeat(16384)}!` }).success).toBe(
      false,
    );
    expect(StreamChunkBodySchema.safeParse({ attempt: 1, content: "" }).success).toBe(false);
    expect(StreamChunkBodySchema.parse({ attempt: 1, content: "x", seq: 3 })).toEqual({
      attempt: 1,
      content: "x",
      seq: 3,
    });
    expect(StreamChunkBodySchema.safeParse({ attempt: 1, content: "x", task_id: "t" }).success).toBe(false);
  });
});

describe("HandoffBodySchema and CancelTaskBodySchema", () => {
  it("limits partial output to 32 KB of UTF-8 and allows it empty", () => {
    expect(HandoffBodySchema.safeParse({ attempt: 1, partial_output: "" }).success).toBe(true);
    expect(HandoffBodySchema.safeParse({ attempt: 1, partial_output: "é".repeat(16384) }).success).toBe(true);
    expect(HandoffBodySchema.safeParse({ attempt: 1, partial_output: "é".repeat(16385) }).success).toBe(
      false,
    );
    expect(HandoffBodySchema.safeParse({}).success).toBe(false);
  });

  it("accepts an empty cancel body and rejects extras", () => {
    expect(CancelTaskBodySchema.parse({})).toEqual({});
    expect(CancelTaskBodySchema.parse({ reason: "obsolete" })).toEqual({ reason: "obsolete" });
    expect(CancelTaskBodySchema.safeParse({ force: true }).success).toBe(false);
  });
});

describe("TaskSchema", () => {
  it("parses a full task with an assignment record", () => {
    const task = makeTask({
      status: "assigned",
      assigned_to: "gpu-box-1",
      assigned_at: NOW,
      assignment: {
        candidates: [
          { agent_id: "gpu-box-1", score: 1.7, free_slots: 2, breaker: "closed", successes: 9, failures: 1 },
          { agent_id: "pi-1", score: 1.2, free_slots: 1, breaker: "half_open", successes: 0, failures: 3 },
        ],
        winner: "gpu-box-1",
        strategy: "ucb",
        decided_at: NOW,
      },
    });
    expect(TaskSchema.parse(task)).toEqual(task);
  });

  it("does not cap the stored prompt (continuations exceed 8 KB)", () => {
    const task = makeTask({ prompt: "x".repeat(40_000) });
    expect(TaskSchema.safeParse(task).success).toBe(true);
  });

  it("is tolerant of new response fields (forward-compatible clients) but strips them", () => {
    const parsed = TaskSchema.parse({ ...makeTask(), added_in_v2: true });
    expect("added_in_v2" in parsed).toBe(false);
  });

  it("wraps lists with a nullable next_cursor", () => {
    const page = { tasks: [makeTask()], next_cursor: null };
    expect(TaskListResponseSchema.parse(page)).toEqual(page);
  });
});
