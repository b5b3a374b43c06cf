import { describe, expect, it } from "vitest";
import { newId } from "./ids";
import { isJobName, JOB_NAMES, JOBS, parseJob } from "./jobs";

const taskId = newId("task");

describe("job catalog", () => {
  it("names every job <service>.<verb>", () => {
    expect(JOB_NAMES).toEqual([
      "dispatch.assign",
      "dispatch.sweep",
      "memory.extract",
      "memory.consolidate",
      "alerts.send",
      "provenance.append",
    ]);
    for (const name of JOB_NAMES) expect(name).toMatch(/^[a-z]+\.[a-z_]+$/);
  });

  it("parses valid payloads and applies defaults", () => {
    expect(parseJob("dispatch.assign", { taskId })).toEqual({
      ok: true,
      name: "dispatch.assign",
      payload: { taskId },
    });
    expect(
      parseJob("memory.extract", { taskId, agentId: "a-1", output: "[REMEMBER] k: v [/REMEMBER]" }),
    ).toEqual({
      ok: true,
      name: "memory.extract",
      payload: { taskId, agentId: "a-1", output: "[REMEMBER] k: v [/REMEMBER]" },
    });
    const alert = parseJob("alerts.send", {
      kind: "agent_down",
      title: "gpu-box down",
      message: "no heartbeat for 90 s",
      dedupeKey: "agent_down-gpu-box-1750000000000",
    });
    expect(alert.ok && alert.payload).toEqual({
      kind: "agent_down",
      title: "gpu-box down",
      message: "no heartbeat for 90 s",
      dedupeKey: "agent_down-gpu-box-1750000000000",
      priority: 3,
      tags: [],
    });
  });

  it("refuses invalid payloads as not retryable", () => {
    const result = parseJob("dispatch.assign", { taskId: "42" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.retryable).toBe(false);
    expect(result.reason).toBe("invalid_payload");
    expect(result.issues[0]?.path).toEqual(["taskId"]);
    expect(result.message).toContain("Invalid payload for dispatch.assign");
  });

  it("rejects extra keys, missing keys and non-objects", () => {
    expect(parseJob("dispatch.assign", { taskId, extra: 1 }).ok).toBe(false);
    expect(parseJob("memory.extract", { taskId }).ok).toBe(false);
    expect(parseJob("dispatch.sweep", { kind: "everything" }).ok).toBe(false);
    expect(parseJob("dispatch.sweep", null).ok).toBe(false);
    expect(parseJob("dispatch.sweep", "heartbeats").ok).toBe(false);
  });

  it("refuses unknown job names (including prototype keys)", () => {
    for (const name of ["dispatch.explode", "toString", "__proto__", ""]) {
      const result = parseJob(name, {});
      expect(result).toMatchObject({ ok: false, retryable: false, reason: "unknown_job" });
      expect(isJobName(name)).toBe(false);
    }
  });

  it("builds dedupe keys without ':' (BullMQ rejects it in job ids)", () => {
    expect(JOBS["dispatch.assign"].options.dedupeKey?.({ taskId })).toBe(`assign-${taskId}`);
    expect(JOBS["dispatch.sweep"].options.dedupeKey?.({ kind: "zombies" })).toBe("sweep-zombies");
    expect(JOBS["memory.consolidate"].options.dedupeKey?.({})).toBe("consolidate-all");
    for (const name of JOB_NAMES) {
      const { attempts, backoff } = JOBS[name].options;
      expect(attempts).toBeGreaterThanOrEqual(1);
      expect(backoff.delayMs).toBeGreaterThan(0);
    }
  });
});
