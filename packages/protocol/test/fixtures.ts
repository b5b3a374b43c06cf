import type { Agent, Approval, Escalation, Message, Task } from "../src/index";
import { newId } from "../src/index";

/** Shared, fully valid domain objects for tests. */
export const NOW = 1_750_000_000_000;

export function makeTask(overrides: Partial<Task> = {}): Task {
  return {
    id: newId("task"),
    title: "Summarize the incident report",
    prompt: "Summarize: …",
    prompt_parts: { memory: null, parents: null, handoffs: [] },
    composed_prompt: "Summarize: …",
    required_capability: "research",
    priority: 5,
    deadline: null,
    urgency: "low",
    status: "queued",
    assign_to: null,
    assigned_to: null,
    output: null,
    error: null,
    attempts: 0,
    attempt: 0,
    max_attempts: 3,
    confidence: null,
    depends_on: [],
    model: null,
    usage: null,
    cost_usd: null,
    assignment: null,
    continuation_of: null,
    continued_by: null,
    partial_output: null,
    created_at: NOW,
    updated_at: NOW,
    assigned_at: null,
    started_at: null,
    completed_at: null,
    ...overrides,
  };
}

export function makeAgent(overrides: Partial<Agent> = {}): Agent {
  return {
    id: "gpu-box-1",
    name: "gpu-box-1",
    machine: "gpu-box",
    capabilities: ["research", "code_review"],
    max_concurrent: 3,
    status: "online",
    active_tasks: 0,
    load_avg: 0.42,
    provider: "anthropic",
    model: "claude-sonnet-4-5",
    breaker: { state: "closed", failures: 0, opened_at: null },
    last_seen_at: NOW,
    registered_at: NOW - 60_000,
    meta: { os: "linux" },
    ...overrides,
  };
}

export function makeMessage(overrides: Partial<Message> = {}): Message {
  return {
    id: newId("msg"),
    channel: "general",
    from: "operator",
    content: "héllo 👋",
    reply_to: null,
    created_at: NOW,
    ...overrides,
  };
}

export function makeApproval(overrides: Partial<Approval> = {}): Approval {
  return {
    id: newId("apr"),
    agent_id: "gpu-box-1",
    task_id: null,
    action: "deploy",
    description: "Deploy build 42 to staging",
    status: "pending",
    decided_by: null,
    decision_reason: null,
    created_at: NOW,
    expires_at: NOW + 600_000,
    decided_at: null,
    ...overrides,
  };
}

export function makeEscalation(overrides: Partial<Escalation> = {}): Escalation {
  return {
    id: newId("esc"),
    agent_id: "gpu-box-1",
    task_id: null,
    target: "operator",
    reason: "3 consecutive failures",
    failures: 3,
    status: "open",
    created_at: NOW,
    resolved_at: null,
    resolved_by: null,
    ...overrides,
  };
}

export const HASH_A = "a".repeat(64);
export const HASH_B = "b".repeat(64);
