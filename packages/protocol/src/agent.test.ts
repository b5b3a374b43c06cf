import { describe, expect, it } from "vitest";
import { makeAgent } from "../test/fixtures";
import { AgentListResponseSchema, AgentSchema, HeartbeatBodySchema, RegisterAgentBodySchema } from "./agent";

describe("RegisterAgentBodySchema", () => {
  const body = { capabilities: ["research"], max_concurrent: 2 };

  it("accepts the minimal body and the full one", () => {
    expect(RegisterAgentBodySchema.parse(body)).toEqual(body);
    const full = {
      ...body,
      name: "GPU box",
      machine: "gpu.local",
      provider: "openai-compatible",
      model: "llama3.1:8b",
      meta: { os: "linux", gpus: 2 },
    };
    expect(RegisterAgentBodySchema.parse(full)).toEqual(full);
  });

  it("rejects unknown keys, including server-owned fields", () => {
    for (const extra of [{ status: "online" }, { id: "other-agent" }, { active_tasks: 0 }]) {
      const result = RegisterAgentBodySchema.safeParse({ ...body, ...extra });
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]?.code).toBe("unrecognized_keys");
    }
  });

  it("requires 1..64 unique, well-formed capabilities", () => {
    expect(RegisterAgentBodySchema.safeParse({ ...body, capabilities: [] }).success).toBe(false);
    const many = Array.from({ length: 64 }, (_, i) => `cap_${i}`);
    expect(RegisterAgentBodySchema.safeParse({ ...body, capabilities: many }).success).toBe(true);
    expect(RegisterAgentBodySchema.safeParse({ ...body, capabilities: [...many, "one_more"] }).success).toBe(
      false,
    );
    expect(RegisterAgentBodySchema.safeParse({ ...body, capabilities: ["a", "a"] }).success).toBe(false);
    expect(RegisterAgentBodySchema.safeParse({ ...body, capabilities: ["Research"] }).success).toBe(false);
  });

  it("bounds max_concurrent to 1..256", () => {
    expect(RegisterAgentBodySchema.safeParse({ ...body, max_concurrent: 0 }).success).toBe(false);
    expect(RegisterAgentBodySchema.safeParse({ ...body, max_concurrent: 256 }).success).toBe(true);
    expect(RegisterAgentBodySchema.safeParse({ ...body, max_concurrent: 257 }).success).toBe(false);
    expect(RegisterAgentBodySchema.safeParse({ capabilities: ["x"] }).success).toBe(false);
  });

  it("caps meta at 4 KB serialized", () => {
    expect(RegisterAgentBodySchema.safeParse({ ...body, meta: { note: "x".repeat(4000) } }).success).toBe(
      true,
    );
    const result = RegisterAgentBodySchema.safeParse({ ...body, meta: { note: "é".repeat(2100) } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code: "too_big", maximum: 4096, path: ["meta"] });
  });
});

describe("HeartbeatBodySchema", () => {
  it("takes active_tasks and an optional load average", () => {
    expect(HeartbeatBodySchema.parse({ active_tasks: 1, load_avg: 0.5 })).toEqual({
      active_tasks: 1,
      load_avg: 0.5,
    });
    expect(HeartbeatBodySchema.parse({ active_tasks: 0 })).toEqual({ active_tasks: 0 });
    expect(HeartbeatBodySchema.safeParse({ active_tasks: -1 }).success).toBe(false);
    expect(HeartbeatBodySchema.safeParse({ active_tasks: 1, load_avg: -0.1 }).success).toBe(false);
    expect(HeartbeatBodySchema.safeParse({ active_tasks: 1, status: "busy" }).success).toBe(false);
  });
});

describe("AgentSchema", () => {
  it("round-trips an agent with its breaker", () => {
    const agent = makeAgent({ breaker: { state: "open", failures: 3, opened_at: 1 } });
    expect(AgentSchema.parse(agent)).toEqual(agent);
    expect(AgentListResponseSchema.parse({ agents: [agent] })).toEqual({ agents: [agent] });
  });

  it("rejects an unknown breaker state", () => {
    const agent = makeAgent({ breaker: { state: "closed", failures: 0, opened_at: null } });
    expect(AgentSchema.safeParse({ ...agent, breaker: { ...agent.breaker, state: "ajar" } }).success).toBe(
      false,
    );
  });
});
