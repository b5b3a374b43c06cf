import { describe, expect, it } from "vitest";
import { agentDownAlert, budgetAlert, escalationAlert, taskFailedAlert } from "./alerts";
import { newId } from "./ids";
import { parseJob } from "./jobs";
import { CreatePipelineBodySchema, PIPELINE_STEPS_MAX } from "./pipeline";

const step = (extra: Record<string, unknown> = {}) => ({
  title: "t",
  prompt: "p",
  required_capability: "c",
  ...extra,
});

describe("pipelines", () => {
  it("defaults to sequential steps named step-<n>", () => {
    const body = CreatePipelineBodySchema.parse({ steps: [step(), step()] });
    expect(body.mode).toBe("sequential");
    expect(body.steps).toHaveLength(2);
  });

  it("refuses depends_on in sequential mode, unknown and duplicate step names", () => {
    const issues = (input: unknown) => {
      const r = CreatePipelineBodySchema.safeParse(input);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    };
    expect(issues({ steps: [step({ name: "a" }), step({ depends_on: ["a"] })] })[0]).toMatch(
      /^steps.1.depends_on: depends_on needs mode "dag"/,
    );
    expect(issues({ mode: "dag", steps: [step({ name: "a", depends_on: ["zz"] })] })).toEqual([
      "steps.0.depends_on.0: Unknown step zz",
    ]);
    expect(issues({ steps: [step({ name: "step-2" }), step()] })).toEqual([
      "steps.1.name: Duplicate step name step-2",
    ]);
    expect(issues({ steps: [{ title: "t" }] })).toEqual([
      "steps.0.prompt: prompt is required without a template",
      "steps.0.required_capability: required_capability is required without a template",
    ]);
    expect(issues({ steps: [{ template: "Research", prompt: "x" }] })).toEqual([
      "steps.0.prompt: A template step takes no prompt",
    ]);
    expect(issues({ steps: Array.from({ length: PIPELINE_STEPS_MAX + 1 }, () => step()) })).toHaveLength(1);
  });

  it("takes template steps with variables", () => {
    const body = CreatePipelineBodySchema.parse({
      mode: "dag",
      steps: [{ name: "r", template: "Research", variables: { topic: "x" } }, step({ depends_on: ["r"] })],
    });
    expect(body.steps[0]?.variables).toEqual({ topic: "x" });
  });
});

describe("alerts", () => {
  it("build valid alerts.send payloads with their de-duplication keys", () => {
    const taskId = newId("task");
    const jobs = [
      agentDownAlert({ agentId: "gpu-box", since: 1_700_000_000_000, outageId: "out_1" }),
      taskFailedAlert({ taskId, title: "t", agentId: null, error: "e".repeat(10_000), attempts: 3 }),
      escalationAlert({ escalationId: "esc_1", agentId: "a", target: "operator", failures: 3, reason: "r" }),
      budgetAlert({
        agentId: "a",
        day: "2026-11-25",
        tokens: 10,
        tokenCap: 5,
        costUsd: 1,
        spendThresholdUsd: null,
      }),
    ];
    expect(jobs.map((j) => j.dedupeKey)).toEqual([
      "agent_down-gpu-box-out_1",
      `task_failed-${taskId}`,
      "escalation-esc_1",
      "budget-a-2026-11-25",
    ]);
    for (const job of jobs) expect(parseJob("alerts.send", job).ok).toBe(true);
  });
});
