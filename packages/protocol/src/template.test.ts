import { describe, expect, it } from "vitest";
import {
  CreateTemplateBodySchema,
  checkTemplateVariables,
  DispatchTemplateBodySchema,
  renderTemplate,
  templateVariables,
  UpdateTemplateBodySchema,
} from "./template";

describe("templates", () => {
  it("finds placeholders in order, honouring {{ }} escapes", () => {
    expect(templateVariables("Research {topic} for {audience}, then {topic} again")).toEqual([
      "topic",
      "audience",
    ]);
    expect(templateVariables('JSON: {{"a": 1}} and {not a var} and {_x} {x-y}')).toEqual([]);
    expect(templateVariables("{{topic}}")).toEqual([]);
  });

  it("renders in one pass: values are never expanded again", () => {
    expect(renderTemplate("Summarize {target} {{ok}}", { target: "{target} and {other}" })).toBe(
      "Summarize {target} and {other} {ok}",
    );
    expect(() => renderTemplate("{a}", {})).toThrow(RangeError);
  });

  it("names missing and extra variables", () => {
    expect(checkTemplateVariables("{a} {b}", { b: "1", c: "2", d: "3" })).toEqual({
      missing: ["a"],
      extra: ["c", "d"],
    });
    expect(checkTemplateVariables("{a}", { a: "" })).toEqual({ missing: [], extra: [] });
  });

  it("validates bodies", () => {
    expect(
      CreateTemplateBodySchema.parse({ name: " QA ", prompt_template: "Check {target}", capability: "qa" }),
    ).toEqual({
      name: "QA",
      description: "",
      prompt_template: "Check {target}",
      capability: "qa",
      priority: 5,
    });
    expect(UpdateTemplateBodySchema.safeParse({}).success).toBe(false);
    expect(DispatchTemplateBodySchema.parse({}).variables).toEqual({});
    // Variable names start with a letter: no `__proto__` keys.
    expect(DispatchTemplateBodySchema.safeParse({ variables: { __proto__x: "1" } }).success).toBe(false);
    // zod drops a `__proto__` key outright, so it can never reach a plain object's prototype.
    expect(
      DispatchTemplateBodySchema.parse({ variables: JSON.parse('{"__proto__": "x"}') }).variables,
    ).toEqual({});
  });
});
