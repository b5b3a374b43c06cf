import type { JobPayloadInput } from "./jobs";

/**
 * The alerts the mesh sends to ntfy, built in one place so every producer (hub, dispatcher) words
 * them alike. Each carries the de-duplication key that implements its rule:
 *
 * - agent down: once per outage (key: agent + the outage's start);
 * - task failed: once, on the attempt that failed it for good (key: task);
 * - escalation created: once per escalation (key: escalation id);
 * - budget threshold: once per UTC day per agent (key: agent + day).
 *
 * Producers enqueue them only at the one transition that makes them true (a conditional update),
 * so the key is the second guard: it collapses a retried enqueue, never a second real event.
 */
export type AlertJob = JobPayloadInput<"alerts.send">;

const clip = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/** Key-safe rendering of an id (`[A-Za-z0-9_.-]`). */
const keyPart = (value: string) => value.replace(/[^A-Za-z0-9_.-]/g, "_");

export function agentDownAlert(input: { agentId: string; since: number; outageId: string }): AlertJob {
  return {
    kind: "agent_down",
    title: clip(`Agent ${input.agentId} is down`, 200),
    message: `No heartbeat from ${input.agentId} since ${new Date(input.since).toISOString()}; its tasks were requeued.`,
    priority: 4,
    tags: ["warning", "agent_down"],
    dedupeKey: `agent_down-${keyPart(input.agentId)}-${keyPart(input.outageId)}`,
  };
}

export function taskFailedAlert(input: {
  taskId: string;
  title: string;
  agentId: string | null;
  error: string;
  attempts: number;
}): AlertJob {
  return {
    kind: "task_failed",
    title: clip(`Task failed: ${input.title}`, 200),
    message: clip(
      `${input.taskId} failed for good after ${input.attempts} attempt(s)${input.agentId ? ` on ${input.agentId}` : ""}: ${input.error}`,
      4000,
    ),
    priority: 4,
    tags: ["x", "task_failed"],
    dedupeKey: `task_failed-${keyPart(input.taskId)}`,
  };
}

export function escalationAlert(input: {
  escalationId: string;
  agentId: string;
  target: string;
  failures: number;
  reason: string;
}): AlertJob {
  return {
    kind: "escalation_created",
    title: clip(`Escalation: ${input.agentId} failed ${input.failures} times in a row`, 200),
    message: clip(`For ${input.target}. ${input.reason}`, 4000),
    priority: 5,
    tags: ["rotating_light", "escalation"],
    dedupeKey: `escalation-${keyPart(input.escalationId)}`,
  };
}

export function budgetAlert(input: {
  agentId: string;
  /** UTC day, `YYYY-MM-DD`. */
  day: string;
  tokens: number;
  tokenCap: number | null;
  costUsd: number;
  spendThresholdUsd: number | null;
}): AlertJob {
  const cap = input.tokenCap === null ? "no cap" : `cap ${input.tokenCap}`;
  const spend =
    input.spendThresholdUsd === null ? "" : ` (alert threshold $${input.spendThresholdUsd.toFixed(2)})`;
  return {
    kind: "budget_threshold",
    title: clip(`Budget threshold crossed by ${input.agentId}`, 200),
    message: `${input.day} UTC: ${input.tokens} tokens (${cap}), $${input.costUsd.toFixed(4)} spent${spend}.`,
    priority: 4,
    tags: ["moneybag", "budget"],
    dedupeKey: `budget-${keyPart(input.agentId)}-${input.day}`,
  };
}
