import { describe, expect, it } from "vitest";
import {
  HASH_A,
  makeAgent,
  makeApproval,
  makeEscalation,
  makeMessage,
  makeTask,
  NOW,
} from "../test/fixtures";
import {
  createMeshEvent,
  EVENT_TYPES,
  isMeshEventOf,
  type MeshEvent,
  type MeshEventData,
  MeshEventSchema,
  type MeshEventType,
  MeshEventTypeSchema,
} from "./events";
import { newId } from "./ids";

const taskId = newId("task");
const assignment = {
  candidates: [
    { agent_id: "a-1", score: 1.5, free_slots: 1, breaker: "closed" as const, successes: 3, failures: 0 },
  ],
  winner: "a-1",
  strategy: "ucb" as const,
  decided_at: NOW,
};

/** One valid `data` per event type; the mapped type makes a missing type a compile error. */
const SAMPLE_DATA: { [K in MeshEventType]: MeshEventData<K> } = {
  task_created: { task: makeTask({ id: taskId }) },
  task_assigned: { task_id: taskId, agent_id: "a-1", assignment },
  task_started: { task_id: taskId, agent_id: "a-1", attempt: 1 },
  task_chunk: { task_id: taskId, agent_id: "a-1", attempt: 1, seq: 0, content: "Hel" },
  task_completed: {
    task_id: taskId,
    agent_id: "a-1",
    output_bytes: 5,
    confidence: 0.8,
    usage: { input_tokens: 10, output_tokens: 5 },
    model: "claude-sonnet-4-5",
    cost_usd: 0.001,
  },
  task_failed: {
    task_id: taskId,
    agent_id: "a-1",
    error: "boom",
    attempts: 1,
    max_attempts: 3,
    final: false,
  },
  task_handoff: {
    task_id: taskId,
    agent_id: "a-1",
    continuation_id: newId("task"),
    reason: "shutting down",
    partial_output_bytes: 120,
  },
  task_cancelled: {
    task_id: taskId,
    reason: "parent failed",
    cancelled_by: "system",
    cause_task_id: newId("task"),
  },
  task_requeued: { task_id: taskId, reason: "agent_offline", previous_agent_id: "a-1", attempts: 1 },
  task_urgency_changed: { task_id: taskId, from: "low", to: "medium", priority: 6, deadline: NOW + 60_000 },
  agent_online: { agent: makeAgent() },
  agent_offline: { agent_id: "a-1", last_seen_at: NOW, requeued_task_ids: [taskId] },
  agent_busy: { agent_id: "a-1", active_tasks: 3, max_concurrent: 3 },
  agent_breaker: { agent_id: "a-1", from: "closed", to: "open", failures: 3 },
  provenance_appended: {
    task_id: taskId,
    agent_id: "a-1",
    chain_index: 4,
    hash: HASH_A,
    leaf_index: 4,
    tree_size: 5,
    root: HASH_A,
  },
  subscriber_dropped: { reason: "slow_consumer", queue_limit: 500 },
  message_created: { message: makeMessage() },
  approval_requested: { approval: makeApproval() },
  approval_decided: {
    approval: makeApproval({ status: "approved", decided_by: "operator", decided_at: NOW }),
  },
  approval_expired: { approval: makeApproval({ status: "expired" }) },
  escalation_created: { escalation: makeEscalation() },
  escalation_resolved: {
    escalation: makeEscalation({ status: "resolved", resolved_at: NOW, resolved_by: "operator" }),
  },
  plugin_invoked: {
    tool: "web_search",
    plugin: "web_search",
    task_id: taskId,
    agent_id: "a-1",
    attempt: 1,
    ok: false,
    error_code: "unavailable",
    duration_ms: 12,
  },
};

function sample(type: MeshEventType): MeshEvent {
  // Indexing the mapped type with a union loses the type↔data pairing, hence the assertion.
  return { type, id: newId("evt"), ts: NOW, data: SAMPLE_DATA[type] } as MeshEvent;
}

describe("MeshEventSchema", () => {
  it.each(EVENT_TYPES)("parses a %s event", (type) => {
    const event = sample(type);
    // a JSON round trip is what an SSE client actually receives
    const parsed = MeshEventSchema.parse(JSON.parse(JSON.stringify(event)));
    expect(parsed).toEqual(event);
    expect(parsed.type).toBe(type);
  });

  it("lists exactly the union's members in EVENT_TYPES", () => {
    const fromUnion = MeshEventSchema.options.map((option) => option.shape.type.value);
    expect(fromUnion).toEqual([...EVENT_TYPES]);
    expect(new Set(EVENT_TYPES).size).toBe(EVENT_TYPES.length);
    expect(EVENT_TYPES).toHaveLength(23);
    expect(MeshEventTypeSchema.options).toEqual([...EVENT_TYPES]);
  });

  it("rejects unknown event types", () => {
    const result = MeshEventSchema.safeParse({ type: "task_exploded", id: "evt_1", ts: NOW, data: {} });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code: "invalid_union", path: ["type"] });
    expect(MeshEventSchema.safeParse({ id: "evt_1", ts: NOW, data: {} }).success).toBe(false);
  });

  it("rejects a known type with the wrong data", () => {
    const event = sample("agent_breaker");
    expect(MeshEventSchema.safeParse({ ...event, data: { ...event.data, to: "ajar" } }).success).toBe(false);
    expect(MeshEventSchema.safeParse({ ...event, data: SAMPLE_DATA.task_started }).success).toBe(false);
  });

  it("requires the envelope fields", () => {
    const event = sample("task_started");
    expect(MeshEventSchema.safeParse({ ...event, ts: "yesterday" }).success).toBe(false);
    expect(MeshEventSchema.safeParse({ ...event, id: "has space" }).success).toBe(false);
  });

  it("builds events with createMeshEvent", () => {
    const event = createMeshEvent("agent_busy", SAMPLE_DATA.agent_busy, { id: "evt_7", ts: NOW });
    expect(event).toEqual({ type: "agent_busy", id: "evt_7", ts: NOW, data: SAMPLE_DATA.agent_busy });
    expect(MeshEventSchema.parse(event)).toEqual(event);
  });

  it("narrows by type", () => {
    const event: MeshEvent = MeshEventSchema.parse(sample("task_assigned"));
    if (!isMeshEventOf(event, "task_assigned")) throw new Error("expected task_assigned");
    // typed access without casts: this line only compiles because the guard narrowed `event`
    expect(event.data.assignment.winner).toBe("a-1");
    expect(isMeshEventOf(event, "task_started")).toBe(false);
  });
});
