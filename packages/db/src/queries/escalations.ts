import type { Escalation, EscalationStatus } from "@m3shd/protocol";
import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import { escalations } from "../schema";
import type { Executor } from "../types";
import type { TaskCursor } from "./tasks";

export type EscalationRow = typeof escalations.$inferSelect;

/** An escalation row as the API returns it. */
export function toApiEscalation(row: EscalationRow): Escalation {
  return {
    id: row.id,
    agent_id: row.agentId,
    task_id: row.taskId,
    target: row.target,
    reason: row.reason,
    failures: row.failures,
    status: row.status,
    created_at: row.createdAt,
    resolved_at: row.resolvedAt,
    resolved_by: row.resolvedBy,
  };
}

/** Whether the agent has an escalation still open. */
export function hasOpenEscalation(db: Executor, agentId: string): boolean {
  return (
    db
      .select({ one: sql`1` })
      .from(escalations)
      .where(and(eq(escalations.agentId, agentId), eq(escalations.status, "open")))
      .limit(1)
      .get() !== undefined
  );
}

export function insertEscalation(
  db: Executor,
  input: {
    id: string;
    agentId: string;
    taskId: string | null;
    target: string;
    reason: string;
    failures: number;
    now: number;
  },
): EscalationRow {
  return db
    .insert(escalations)
    .values({
      id: input.id,
      agentId: input.agentId,
      taskId: input.taskId,
      target: input.target,
      reason: input.reason,
      failures: input.failures,
      createdAt: input.now,
      updatedAt: input.now,
    })
    .returning()
    .get();
}

export function getEscalation(db: Executor, id: string): EscalationRow | undefined {
  return db.select().from(escalations).where(eq(escalations.id, id)).get();
}

/** Newest first, keyset-paginated on (created_at, id). */
export function listEscalations(
  db: Executor,
  input: { status?: EscalationStatus; agentId?: string; cursor?: TaskCursor | null; limit: number },
): { items: EscalationRow[]; nextCursor: TaskCursor | null } {
  const conditions: SQL[] = [];
  if (input.status !== undefined) conditions.push(eq(escalations.status, input.status));
  if (input.agentId !== undefined) conditions.push(eq(escalations.agentId, input.agentId));
  if (input.cursor) {
    conditions.push(
      sql`(${escalations.createdAt}, ${escalations.id}) < (${input.cursor.createdAt}, ${input.cursor.id})`,
    );
  }
  const rows = db
    .select()
    .from(escalations)
    .where(and(...conditions))
    .orderBy(desc(escalations.createdAt), desc(escalations.id))
    .limit(input.limit + 1)
    .all();
  const items = rows.slice(0, input.limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > input.limit && last ? { createdAt: last.createdAt, id: last.id } : null,
  };
}

/** Resolves an open escalation (conditional); undefined when it was not open. */
export function resolveEscalation(
  db: Executor,
  input: { id: string; resolvedBy: string; resolution: string | null; now: number },
): EscalationRow | undefined {
  return db
    .update(escalations)
    .set({
      status: "resolved",
      resolvedBy: input.resolvedBy,
      resolvedAt: input.now,
      resolution: input.resolution,
      updatedAt: input.now,
    })
    .where(and(eq(escalations.id, input.id), eq(escalations.status, "open")))
    .returning()
    .get();
}

/** Open escalations (for the summary). */
export function countOpenEscalations(db: Executor): number {
  const row = db
    .select({ n: sql<number>`count(*)` })
    .from(escalations)
    .where(eq(escalations.status, "open"))
    .get();
  return row?.n ?? 0;
}
