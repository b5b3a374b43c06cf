import { describe, expect, it } from "vitest";
import { parsePlan, plannerPrompt } from "./router";

describe("auto: planner answers", () => {
  it("asks for 2–5 parallel subtasks as JSON, goal last", () => {
    expect(plannerPrompt("ship v2")).toMatch(/2 to 5 independent subtasks[\s\S]*Goal: ship v2$/);
  });
  it("reads a JSON array, fenced or not", () => {
    const out = '```json\n[{"title":"a","prompt":"do a"},{"title":"b","prompt":"do b"}]\n```';
    expect(parsePlan(out)).toEqual([
      { title: "a", prompt: "do a" },
      { title: "b", prompt: "do b" },
    ]);
    expect(parsePlan('["x", "y", "z"]')).toEqual([
      { title: "x", prompt: "x" },
      { title: "y", prompt: "y" },
      { title: "z", prompt: "z" },
    ]);
  });
  it("falls back to numbered or bulleted lines", () => {
    expect(parsePlan("Plan:\n1. research\n2) draft\n- review")?.map((p) => p.title)).toEqual([
      "research",
      "draft",
      "review",
    ]);
  });
  it("keeps at most 5 and refuses fewer than 2", () => {
    expect(parsePlan(JSON.stringify(["1", "2", "3", "4", "5", "6", "7"]))).toHaveLength(5);
    expect(parsePlan('["only one"]')).toBeNull();
    expect(parsePlan("no plan here")).toBeNull();
  });
});
