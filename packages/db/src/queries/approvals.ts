import type { Approval, ApprovalStatus } from "@m3shd/protocol";
import { and, asc, desc, eq, gt, lte, type SQL, sql } from "drizzle-orm";
import { approvals } from "../schema";
import type { Executor } from "../types";
import type { TaskCursor } from "./tasks";

export type ApprovalRow = typeof approvals.$inferSelect;

/** An approval row as the API returns it. */
export function toApiApproval(row: ApprovalRow): Approval {
  return {
    id: row.id,
    agent_id: row.agentId,
    task_id: row.taskId,
    action: row.action,
    description: row.description,
    status: row.status,
    decided_by: row.decidedBy,
    decision_reason: row.decisionNote,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
    decided_at: row.decidedAt,
  };
}

export function insertApproval(
  db: Executor,
  input: {
    id: string;
    agentId: string;
    taskId: string | null;
    action: string;
    description: string;
    expiresAt: number;
    now: number;
  },
): ApprovalRow {
  return db
    .insert(approvals)
    .values({
      id: input.id,
      agentId: input.agentId,
      taskId: input.taskId,
      action: input.action,
      description: input.description,
      expiresAt: input.expiresAt,
      createdAt: input.now,
      updatedAt: input.now,
    })
    .returning()
    .get();
}

export function getApproval(db: Executor, id: string): ApprovalRow | undefined {
  return db.select().from(approvals).where(eq(approvals.id, id)).get();
}

/** Newest first, keyset-paginated on (created_at, id). */
export function listApprovals(
  db: Executor,
  input: { status?: ApprovalStatus; agentId?: string; cursor?: TaskCursor | null; limit: number },
): { items: ApprovalRow[]; nextCursor: TaskCursor | null } {
  const conditions: SQL[] = [];
  if (input.status !== undefined) conditions.push(eq(approvals.status, input.status));
  if (input.agentId !== undefined) conditions.push(eq(approvals.agentId, input.agentId));
  if (input.cursor) {
    conditions.push(
      sql`(${approvals.createdAt}, ${approvals.id}) < (${input.cursor.createdAt}, ${input.cursor.id})`,
    );
  }
  const rows = db
    .select()
    .from(approvals)
    .where(and(...conditions))
    .orderBy(desc(approvals.createdAt), desc(approvals.id))
    .limit(input.limit + 1)
    .all();
  const items = rows.slice(0, input.limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > input.limit && last ? { createdAt: last.createdAt, id: last.id } : null,
  };
}

/**
 * Approves or rejects a request that is still pending and not yet past its expiry (a conditional
 * update). Returns the updated row, or undefined when it was no longer decidable.
 */
export function decideApproval(
  db: Executor,
  input: { id: string; status: "approved" | "rejected"; decidedBy: string; note: string | null; now: number },
): ApprovalRow | undefined {
  return db
    .update(approvals)
    .set({
      status: input.status,
      decidedBy: input.decidedBy,
      decidedAt: input.now,
      decisionNote: input.note,
      updatedAt: input.now,
    })
    .where(
      and(eq(approvals.id, input.id), eq(approvals.status, "pending"), gt(approvals.expiresAt, input.now)),
    )
    .returning()
    .get();
}

/**
 * Expires pending requests whose time is up, oldest expiry first, at most `limit` per call
 * (served by `approvals_status_expires_at_idx`). Returns the expired rows.
 */
export function expireApprovals(db: Executor, input: { now: number; limit: number }): ApprovalRow[] {
  return db.transaction(
    (tx) => {
      const due = tx
        .select({ id: approvals.id })
        .from(approvals)
        .where(and(eq(approvals.status, "pending"), lte(approvals.expiresAt, input.now)))
        .orderBy(asc(approvals.expiresAt))
        .limit(input.limit)
        .all();
      const expired: ApprovalRow[] = [];
      for (const { id } of due) {
        const row = tx
          .update(approvals)
          .set({ status: "expired", updatedAt: input.now })
          .where(and(eq(approvals.id, id), eq(approvals.status, "pending")))
          .returning()
          .get();
        if (row) expired.push(row);
      }
      return expired;
    },
    { behavior: "immediate" },
  );
}

/** Pending requests (for the summary). */
export function countPendingApprovals(db: Executor): number {
  const row = db
    .select({ n: sql<number>`count(*)` })
    .from(approvals)
    .where(eq(approvals.status, "pending"))
    .get();
  return row?.n ?? 0;
}
