import { describe, expect, it } from "vitest";
import {
  AgentIdSchema,
  CapabilitySchema,
  EventIdSchema,
  idTimestamp,
  MessageIdSchema,
  newId,
  TaskIdSchema,
  ULID_REGEX,
  ulid,
} from "./ids";

describe("AgentIdSchema", () => {
  it.each(["a", "0", "-", "gpu-box-1", "claude-2", "a".repeat(64)])("accepts %j", (id) => {
    expect(AgentIdSchema.safeParse(id).success).toBe(true);
  });

  it.each([
    ["empty", ""],
    ["65 chars", "a".repeat(65)],
    ["uppercase", "Gpu-box"],
    ["underscore", "gpu_box"],
    ["dot", "gpu.box"],
    ["space", "gpu box"],
    ["slash (path traversal)", "../etc"],
    ["trailing newline", "gpu\n"],
    ["leading newline", "\ngpu"],
    ["unicode letter", "gpü"],
    ["fullwidth digit", "１"],
  ])("rejects %s", (_label, id) => {
    expect(AgentIdSchema.safeParse(id).success).toBe(false);
  });

  it("rejects non-strings", () => {
    expect(AgentIdSchema.safeParse(42).success).toBe(false);
    expect(AgentIdSchema.safeParse(null).success).toBe(false);
  });
});

describe("CapabilitySchema", () => {
  it("allows underscores on top of the agent id charset", () => {
    expect(CapabilitySchema.safeParse("code_review").success).toBe(true);
    expect(CapabilitySchema.safeParse("text-embed").success).toBe(true);
    expect(CapabilitySchema.safeParse("x".repeat(64)).success).toBe(true);
    expect(CapabilitySchema.safeParse("x".repeat(65)).success).toBe(false);
    expect(CapabilitySchema.safeParse("Code_Review").success).toBe(false);
    expect(CapabilitySchema.safeParse("").success).toBe(false);
  });
});

describe("newId", () => {
  it("produces <prefix>_<26-char Crockford ULID>", () => {
    const id = newId("task");
    expect(id).toMatch(/^task_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(TaskIdSchema.safeParse(id).success).toBe(true);
    expect(MessageIdSchema.safeParse(newId("msg")).success).toBe(true);
    expect(EventIdSchema.safeParse(newId("evt")).success).toBe(true);
  });

  it("is unique and strictly increasing across 10k ids in a tight loop", () => {
    const ids: string[] = [];
    for (let i = 0; i < 10_000; i++) ids.push(newId("task"));
    expect(new Set(ids).size).toBe(10_000);
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    for (let i = 1; i < ids.length; i++) expect((ids[i] ?? "") > (ids[i - 1] ?? "")).toBe(true);
  });

  it("stays monotonic within one millisecond and when the clock steps back", () => {
    const t = Date.now() + 10_000;
    const a = ulid(t);
    const b = ulid(t);
    const c = ulid(t - 5_000); // clock went backwards
    expect(b > a).toBe(true);
    expect(c > b).toBe(true);
    // Same millisecond: identical time part, random part incremented by one.
    expect(b.slice(0, 10)).toBe(a.slice(0, 10));
    expect(c.slice(0, 10)).toBe(a.slice(0, 10));
    expect(idTimestamp(a)).toBe(t);
  });

  it("encodes the creation time", () => {
    const before = Date.now();
    const id = newId("evt");
    const ms = idTimestamp(id);
    expect(ms).not.toBeNull();
    // may be ahead of the wall clock after the previous test pushed the monotonic clock forward
    expect(ms ?? 0).toBeGreaterThanOrEqual(before);
  });

  it("rejects bad prefixes", () => {
    expect(() => newId("")).toThrow(TypeError);
    expect(() => newId("Task")).toThrow(TypeError);
    expect(() => newId("task_")).toThrow(TypeError);
    expect(() => newId("averyveryverylongprefix")).toThrow(TypeError);
  });
});

describe("TaskIdSchema", () => {
  const valid = "task_01J9Z3K4M5N6P7Q8R9S0T1V2W3";
  it("accepts a canonical ULID task id", () => {
    expect(ULID_REGEX.test(valid.slice(5))).toBe(true);
    expect(TaskIdSchema.safeParse(valid).success).toBe(true);
  });

  it.each([
    ["wrong prefix", valid.replace("task_", "msg_")],
    ["no prefix", valid.slice(5)],
    ["lowercase", valid.toLowerCase()],
    ["25 chars", valid.slice(0, -1)],
    ["27 chars", `${valid}0`],
    ["excluded letter I", `${valid.slice(0, -1)}I`],
    ["excluded letter U", `${valid.slice(0, -1)}U`],
    ["timestamp overflow (first char > 7)", `task_8${valid.slice(6)}`],
  ])("rejects %s", (_label, id) => {
    expect(TaskIdSchema.safeParse(id).success).toBe(false);
  });
});

describe("EventIdSchema", () => {
  it("rejects characters that would break an SSE id: line", () => {
    expect(EventIdSchema.safeParse("evt_1\nevent: x").success).toBe(false);
    expect(EventIdSchema.safeParse("").success).toBe(false);
    expect(EventIdSchema.safeParse("42").success).toBe(true);
  });
});
