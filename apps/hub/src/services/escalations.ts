import {
  listEscalations as dbListEscalations,
  resolveEscalation as dbResolveEscalation,
  decodeTaskCursor,
  type EscalationRow,
  type Executor,
  encodeTaskCursor,
  getAgent,
  getEscalation,
  hasOpenEscalation,
  insertEscalation,
  toApiEscalation,
} from "@m3shd/db";
import {
  ConflictError,
  type Escalation,
  LIMITS,
  type ListEscalationsQuery,
  NotFoundError,
  newId,
  type ResolveEscalationBody,
  truncateUtf8,
  ValidationError,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import { audited } from "./audit";
import { emit } from "./events";
import { workflowsOf } from "./workflow-config";

/**
 * Opens an escalation when the agent's consecutive failures (counted by the breaker bookkeeping in
 * the same transaction) reach the threshold and it has none open: one open escalation per agent at
 * a time, addressed to the agent's configured target or the hub's default. Returns the new row.
 */
export function maybeEscalate(
  tx: Executor,
  ctx: HubContext,
  input: { agentId: string; taskId: string; error: string; now: number },
): EscalationRow | null {
  const config = workflowsOf(ctx);
  const agent = getAgent(tx, input.agentId);
  if (!agent || agent.consecutiveFailures < config.escalationThreshold) return null;
  if (hasOpenEscalation(tx, agent.id)) return null;
  const reason = truncateUtf8(
    `${agent.consecutiveFailures} consecutive failures; last on ${input.taskId}: ${input.error}`,
    LIMITS.reasonBytes,
  ).text;
  return insertEscalation(tx, {
    id: newId("esc"),
    agentId: agent.id,
    taskId: input.taskId,
    target: agent.escalationTarget ?? config.escalationTarget,
    reason,
    failures: agent.consecutiveFailures,
    now: input.now,
  });
}

function cursorOf(value: string | undefined) {
  if (value === undefined) return null;
  const cursor = decodeTaskCursor(value);
  if (!cursor) {
    throw new ValidationError("Invalid cursor", [
      { path: ["cursor"], code: "custom", message: "Invalid cursor" },
    ]);
  }
  return cursor;
}

/** `GET /api/escalations`. */
export function listEscalations(ctx: HubContext, query: ListEscalationsQuery) {
  const page = dbListEscalations(ctx.database.db, {
    ...(query.status ? { status: query.status } : {}),
    ...(query.agent ? { agentId: query.agent } : {}),
    cursor: cursorOf(query.cursor),
    limit: query.limit,
  });
  return {
    escalations: page.items.map(toApiEscalation),
    next_cursor: page.nextCursor ? encodeTaskCursor(page.nextCursor) : null,
  };
}

/** `GET /api/escalations/:id`. */
export function getEscalationById(ctx: HubContext, id: string): Escalation {
  const row = getEscalation(ctx.database.db, id);
  if (!row) throw new NotFoundError("escalation", id);
  return toApiEscalation(row);
}

/** `PUT /api/escalations/:id`: resolve an open escalation (409 when it is not open). */
export async function resolveEscalation(
  ctx: HubContext,
  id: string,
  body: ResolveEscalationBody,
  resolvedBy: string,
): Promise<Escalation> {
  const db = ctx.database.db;
  const row = audited(
    ctx,
    "escalation.resolve",
    (tx) => dbResolveEscalation(tx, { id, resolvedBy, resolution: body.resolution ?? null, now: ctx.now() }),
    (resolved) => resolved?.id,
  );
  if (!row) {
    const current = getEscalation(db, id);
    if (!current) throw new NotFoundError("escalation", id);
    throw new ConflictError(`Escalation ${id} is already ${current.status}`, { status: current.status });
  }
  const escalation = toApiEscalation(row);
  await emit(ctx, "escalation_resolved", { escalation });
  return escalation;
}
