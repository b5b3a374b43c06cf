import {
  decideApproval as dbDecideApproval,
  listApprovals as dbListApprovals,
  decodeTaskCursor,
  encodeTaskCursor,
  expireApprovals,
  getAgent,
  getApproval,
  getTask,
  insertApproval,
  toApiApproval,
} from "@m3shd/db";
import {
  type Approval,
  type ApprovalListResponse,
  ConflictError,
  type CreateApprovalBody,
  type DecideApprovalBody,
  type ListApprovalsQuery,
  NotFoundError,
  newId,
  ValidationError,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import { audited } from "./audit";
import { emit } from "./events";

/** `POST /api/approvals`: the calling agent asks before an action; it expires after `timeout_s`. */
export async function requestApproval(
  ctx: HubContext,
  agentId: string,
  body: CreateApprovalBody,
): Promise<Approval> {
  const db = ctx.database.db;
  if (!getAgent(db, agentId)) throw new NotFoundError("agent", agentId);
  if (body.task_id !== undefined && !getTask(db, body.task_id)) throw new NotFoundError("task", body.task_id);
  const now = ctx.now();
  const approval = toApiApproval(
    audited(
      ctx,
      "approval.request",
      (tx) =>
        insertApproval(tx, {
          id: newId("apr"),
          agentId,
          taskId: body.task_id ?? null,
          action: body.action,
          description: body.description,
          expiresAt: now + body.timeout_s * 1000,
          now,
        }),
      (row) => row.id,
    ),
  );
  await emit(ctx, "approval_requested", { approval });
  return approval;
}

/**
 * `PUT /api/approvals/:id`: approve or reject. Only a pending request before its expiry can be
 * decided (409 otherwise); one found past its expiry is expired on the spot, as the sweeper would.
 */
export async function decideApproval(
  ctx: HubContext,
  id: string,
  body: DecideApprovalBody,
  decidedBy: string,
): Promise<Approval> {
  const db = ctx.database.db;
  const now = ctx.now();
  const row = audited(
    ctx,
    "approval.decide",
    (tx) => dbDecideApproval(tx, { id, status: body.decision, decidedBy, note: body.reason ?? null, now }),
    (decided) => decided?.id,
  );
  if (row) {
    const approval = toApiApproval(row);
    await emit(ctx, "approval_decided", { approval });
    return approval;
  }
  const current = getApproval(db, id);
  if (!current) throw new NotFoundError("approval", id);
  if (current.status === "pending") await expireDue(ctx);
  const status = getApproval(db, id)?.status ?? current.status;
  throw new ConflictError(`Approval ${id} is ${status}; only a pending request can be decided`, { status });
}

/** Expires pending approvals past their time and announces each (`approval_expired`). */
export async function expireDue(ctx: HubContext): Promise<number> {
  const expired = expireApprovals(ctx.database.db, { now: ctx.now(), limit: 1000 });
  for (const row of expired) await emit(ctx, "approval_expired", { approval: toApiApproval(row) });
  return expired.length;
}

export function getApprovalById(ctx: HubContext, id: string): Approval {
  const row = getApproval(ctx.database.db, id);
  if (!row) throw new NotFoundError("approval", id);
  return toApiApproval(row);
}

export function listApprovals(ctx: HubContext, query: ListApprovalsQuery): ApprovalListResponse {
  let cursor = null;
  if (query.cursor !== undefined) {
    cursor = decodeTaskCursor(query.cursor);
    if (!cursor) {
      throw new ValidationError("Invalid cursor", [
        { path: ["cursor"], code: "custom", message: "Invalid cursor" },
      ]);
    }
  }
  const page = dbListApprovals(ctx.database.db, {
    ...(query.status ? { status: query.status } : {}),
    ...(query.agent ? { agentId: query.agent } : {}),
    cursor,
    limit: query.limit,
  });
  return {
    approvals: page.items.map(toApiApproval),
    next_cursor: page.nextCursor ? encodeTaskCursor(page.nextCursor) : null,
  };
}
