import { describe, expect, it } from "vitest";
import { isLegalTaskTransition, TASK_STATUSES, TASK_TRANSITIONS, TERMINAL_TASK_STATUSES } from "./enums";

describe("task state machine", () => {
  it("leaves terminal states with no exits", () => {
    for (const status of TERMINAL_TASK_STATUSES) expect(TASK_TRANSITIONS[status]).toEqual([]);
  });

  it("follows the happy path and refuses skips and resurrections", () => {
    expect(isLegalTaskTransition("queued", "assigned")).toBe(true);
    expect(isLegalTaskTransition("assigned", "running")).toBe(true);
    expect(isLegalTaskTransition("running", "done")).toBe(true);
    expect(isLegalTaskTransition("queued", "done")).toBe(false);
    expect(isLegalTaskTransition("done", "queued")).toBe(false);
    expect(isLegalTaskTransition("waiting", "assigned")).toBe(false);
  });

  it("only targets known statuses", () => {
    for (const targets of Object.values(TASK_TRANSITIONS)) {
      for (const target of targets) expect(TASK_STATUSES).toContain(target);
    }
    expect(Object.keys(TASK_TRANSITIONS).sort()).toEqual([...TASK_STATUSES].sort());
  });
});
