import { describe, expect, it } from "vitest";
import { parseRememberBlocks } from "../src/extract";
import { newService, taskId } from "./helpers";

describe("[REMEMBER] parsing", () => {
  it("finds several blocks, multi-line values, any case, and trims", () => {
    const output = [
      "Work done.",
      "[REMEMBER] deploy target: staging [/REMEMBER]",
      "More text [remember]DB Host:   10.0.0.5:5432  [/remember] inline.",
      "[REMEMBER]",
      "runbook: step one",
      "  step two",
      "",
      "step three: with a colon",
      "[/REMEMBER]",
    ].join("\n");
    const parsed = parseRememberBlocks(output);
    expect(parsed.malformed).toBe(0);
    expect(parsed.blocks).toEqual([
      { key: "deploy target", value: "staging" },
      { key: "DB Host", value: "10.0.0.5:5432" },
      { key: "runbook", value: "step one\n  step two\n\nstep three: with a colon" },
    ]);
  });

  it("ignores and counts malformed blocks, keeping the good ones around them", () => {
    const output = [
      "[REMEMBER] no colon here [/REMEMBER]",
      "[REMEMBER] : empty key [/REMEMBER]",
      "[REMEMBER] empty value:   [/REMEMBER]",
      "[REMEMBER] line one\nline two: value [/REMEMBER]",
      `[REMEMBER] ${"k".repeat(201)}: v [/REMEMBER]`,
      `[REMEMBER] big: ${"v".repeat(16 * 1024 + 1)} [/REMEMBER]`,
      "[/REMEMBER] stray close",
      "[REMEMBER] outer: never closed [REMEMBER] inner: fine [/REMEMBER]",
      "[REMEMBER] good: yes [/REMEMBER]",
      "[REMEMBER] dangling: at the end",
    ].join("\n");
    const parsed = parseRememberBlocks(output);
    expect(parsed.blocks).toEqual([
      { key: "inner", value: "fine" },
      { key: "good", value: "yes" },
    ]);
    expect(parsed.reasons).toEqual({
      missing_colon: 1,
      empty_key: 1,
      empty_value: 1,
      multiline_key: 1,
      key_too_long: 1,
      value_too_large: 1,
      stray_close: 1,
      unclosed: 2,
    });
    expect(parsed.malformed).toBe(9);
  });

  it("handles outputs with no blocks, only tags, and lookalikes", () => {
    expect(parseRememberBlocks("")).toEqual({ blocks: [], malformed: 0, reasons: {}, skipped: 0 });
    expect(parseRememberBlocks("[REMEMBER][/REMEMBER]").reasons).toEqual({ missing_colon: 1 });
    expect(parseRememberBlocks("[REMEMBERED] a: b [/REMEMBERED] [ REMEMBER ] c: d").blocks).toEqual([]);
    expect(parseRememberBlocks("🙂[REMEMBER]🙂: 🙂[/REMEMBER]").blocks).toEqual([{ key: "🙂", value: "🙂" }]);
  });

  it("caps blocks per output and counts the rest as skipped", () => {
    const output = Array.from({ length: 105 }, (_, i) => `[REMEMBER] k${i}: v${i} [/REMEMBER]`).join("\n");
    const parsed = parseRememberBlocks(output);
    expect(parsed.blocks).toHaveLength(100);
    expect(parsed.skipped).toBe(5);
  });
});

describe("extract", () => {
  it("stores blocks with the task as source, last duplicate winning, and is idempotent on redelivery", () => {
    const { service } = newService();
    const output = [
      "[REMEMBER] deploy target: staging [/REMEMBER]",
      "[REMEMBER] broken [/REMEMBER]",
      "[REMEMBER] Deploy Target: production [/REMEMBER]",
      "[REMEMBER] owner: ops team\non call: Ada [/REMEMBER]",
    ].join("\n");
    const first = service.extract({ taskId: taskId(7), agentId: "alpha", output });
    expect(first).toMatchObject({
      blocks: 3,
      created: 2,
      updated: 0,
      unchanged: 0,
      malformed: 1,
      skipped: 0,
    });
    const entry = service.get("alpha", "deploy target");
    expect(entry).toMatchObject({
      key: "Deploy Target",
      value: "production",
      sourceTaskId: taskId(7),
      tags: ["source:extract"],
    });
    expect(service.get("alpha", "owner")?.value).toBe("ops team\non call: Ada");
    const again = service.extract({ taskId: taskId(7), agentId: "alpha", output });
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 2 });
    const quiet = service.extract({
      taskId: taskId(7),
      agentId: "alpha",
      output: "[REMEMBER] Deploy Target: production [/REMEMBER]",
    });
    expect(quiet).toMatchObject({ created: 0, updated: 0, unchanged: 1 });
  });

  it("rejects a bad task or agent id with a typed error", () => {
    const { service } = newService();
    expect(() => service.extract({ taskId: "nope", agentId: "alpha", output: "" })).toThrow(/task id/);
    expect(() => service.extract({ taskId: taskId(1), agentId: "_mesh", output: "" })).toThrow(/agent id/);
  });
});
