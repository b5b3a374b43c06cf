import { type Agent, type Assignment, composeTaskPrompt, type Task } from "@m3shd/protocol";
import { and, isNotNull } from "drizzle-orm";
import { inJsonList, prepared } from "./prepared";
import type { Agent as AgentRow } from "./queries/agents";
import type { Task as TaskRow } from "./queries/tasks";
import * as schema from "./schema";
import type { Executor } from "./types";

// Rows → the protocol's API shapes, in one place for every service that returns or publishes them.

/** Parent ids and continuation ids for a page of tasks, in two queries (no N+1). */
export function loadTaskRelations(db: Executor, ids: readonly string[]) {
  const dependsOn = new Map<string, string[]>();
  const continuedBy = new Map<string, string>();
  if (ids.length === 0) return { dependsOn, continuedBy };
  const list = { ids: JSON.stringify(ids) };
  const edges = prepared(db, "loadTaskRelations:deps", () =>
    db
      .select({ taskId: schema.taskDeps.taskId, parent: schema.taskDeps.dependsOnId })
      .from(schema.taskDeps)
      .where(inJsonList(schema.taskDeps.taskId, "ids"))
      .prepare(),
  ).all(list);
  for (const edge of edges) {
    const parents = dependsOn.get(edge.taskId) ?? [];
    parents.push(edge.parent);
    dependsOn.set(edge.taskId, parents);
  }
  const continuations = prepared(db, "loadTaskRelations:continuations", () =>
    db
      .select({ id: schema.tasks.id, of: schema.tasks.continuationOf })
      .from(schema.tasks)
      .where(and(isNotNull(schema.tasks.continuationOf), inJsonList(schema.tasks.continuationOf, "ids")))
      .prepare(),
  ).all(list);
  for (const row of continuations) {
    if (row.of) continuedBy.set(row.of, row.id);
  }
  return { dependsOn, continuedBy };
}

/**
 * A task row as the API returns it (protocol `Task`). `prompt` is the stored (submitted) prompt;
 * `composed_prompt` is it composed with the stored parts. Memory text is never stored, so a view
 * built from a row has none; only the claim (`memoryText`, for the claiming agent) passes it in.
 */
export function toApiTask(
  row: TaskRow,
  rel: { dependsOn?: string[]; continuedBy?: string | null; memoryText?: string } = {},
): Task {
  const memory = row.memoryStatus
    ? {
        status: row.memoryStatus as NonNullable<Task["memory"]>["status"],
        chars: row.memoryChars ?? 0,
      }
    : null;
  const handoffs = row.handoffs ?? [];
  const usage =
    row.inputTokens !== null || row.outputTokens !== null
      ? { input_tokens: row.inputTokens ?? 0, output_tokens: row.outputTokens ?? 0 }
      : null;
  return {
    id: row.id,
    title: row.title,
    prompt: row.prompt,
    prompt_parts: {
      memory: memory && rel.memoryText ? { ...memory, text: rel.memoryText } : memory,
      parents: row.parentOutputs,
      handoffs,
    },
    composed_prompt: composeTaskPrompt({
      prompt: row.prompt,
      parents: row.parentOutputs,
      handoffs,
      memory: rel.memoryText ?? null,
    }),
    required_capability: row.requiredCapability,
    priority: row.priority,
    deadline: row.deadline,
    urgency: row.urgency,
    status: row.status,
    assign_to: row.assignTo,
    assigned_to: row.assignedTo,
    output: row.output,
    error: row.error ?? row.cancelReason,
    attempts: row.attempts,
    attempt: row.attempt,
    max_attempts: row.maxAttempts,
    confidence: row.confidence,
    depends_on: [...(rel.dependsOn ?? [])].sort(),
    model: row.model,
    usage,
    cost_usd: row.costUsd,
    assignment: (row.assignment as unknown as Assignment | null) ?? null,
    continuation_of: row.continuationOf,
    continued_by: rel.continuedBy ?? null,
    partial_output: row.partialOutput,
    memory,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    assigned_at: row.assignedAt,
    started_at: row.startedAt,
    completed_at: row.completedAt,
  };
}

/** Tasks with their relations loaded. */
export function toApiTasks(db: Executor, rows: readonly TaskRow[]): Task[] {
  const rel = loadTaskRelations(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) =>
    toApiTask(r, {
      dependsOn: rel.dependsOn.get(r.id) ?? [],
      continuedBy: rel.continuedBy.get(r.id) ?? null,
    }),
  );
}

/** An agent row as the API returns it; `activeTasks` and `lastSeen` come from live state. */
export function toApiAgent(row: AgentRow, live: { activeTasks: number; lastSeen: number | null }): Agent {
  return {
    id: row.id,
    name: row.name,
    machine: row.machine || null,
    capabilities: row.capabilities,
    max_concurrent: row.maxConcurrent,
    status: row.status,
    active_tasks: live.activeTasks,
    load_avg: row.loadAvg ?? null,
    provider: row.provider ?? null,
    model: row.model ?? null,
    breaker: {
      state: row.breakerState,
      failures: row.breakerFailures,
      opened_at: row.breakerOpenedAt ?? null,
    },
    last_seen_at: Math.max(live.lastSeen ?? 0, row.lastSeenAt ?? 0) || null,
    registered_at: row.registeredAt,
    meta: row.meta ?? {},
    draining: row.draining,
    poll_lost_at: row.pollLostAt ?? null,
    operator: {
      capabilities: row.operatorCapabilities ?? null,
      maintenance: row.maintenance,
      max_concurrent: row.maxConcurrentOverride ?? null,
    },
  };
}
