import {
  type Executor,
  expireApprovals,
  openOutage,
  type Settlement,
  settleDependents,
  type Task as TaskRow,
  toApiApproval,
} from "@m3shd/db";
import { type AlertJob, agentDownAlert, newId, taskFailedAlert } from "@m3shd/protocol";
import type { DispatcherContext } from "./context";
import { emit } from "./events";

/**
 * The workflows feature's share of the dispatcher: outages and "agent down" alerts from the
 * heartbeat sweeper, dependents of a task that failed for good in a sweep, and approval expiry.
 * Alerts are only enqueued here; the hub's `alerts.send` consumer delivers them to ntfy.
 */

async function enqueueAlert(ctx: DispatcherContext, alert: AlertJob): Promise<void> {
  try {
    await ctx.queue.jobs.enqueue("alerts.send", alert);
  } catch (err) {
    ctx.logger.error({ err, kind: alert.kind, dedupeKey: alert.dedupeKey }, "could not enqueue alert");
  }
}

/**
 * An agent was just declared offline (by this process's conditional update): open its outage,
 * starting at its last sign of life, and alert once for it. An outage already open means the
 * alert for it was already sent.
 */
export async function onAgentDown(ctx: DispatcherContext, agentId: string, lastSeen: number): Promise<void> {
  const now = ctx.now();
  const outage = openOutage(ctx.database.db, {
    id: newId("out"),
    agentId,
    startedAt: lastSeen > 0 ? lastSeen : now,
    now,
  });
  if (!outage) return;
  await enqueueAlert(ctx, agentDownAlert({ agentId, since: outage.startedAt, outageId: outage.id }));
}

/** In the transaction that failed `taskId` for good: settle its dependents (fail-fast by default). */
export function settleExhausted(
  tx: Executor,
  ctx: DispatcherContext,
  taskId: string,
  now: number,
): Settlement {
  return settleDependents(tx, { parentId: taskId, outcome: "failed", settings: ctx.config.dag, now });
}

/** After that transaction: announce the settlement and alert that the task failed for good. */
export async function publishExhausted(
  ctx: DispatcherContext,
  task: TaskRow,
  settlement: Settlement | null,
  error: string,
): Promise<void> {
  const released = settlement?.released ?? [];
  // Published together: over Redis one pipeline instead of a round trip per event.
  await Promise.all([
    ...released.map((child) =>
      emit(ctx, "task_requeued", {
        task_id: child.id,
        reason: "released",
        previous_agent_id: null,
        attempts: child.attempts,
      }),
    ),
    released.length > 0
      ? ctx.queue.jobs.enqueueMany(
          "dispatch.assign",
          released.map((child) => ({ taskId: child.id })),
        )
      : undefined,
    ...(settlement?.cancelled ?? []).map((cancelled) =>
      emit(ctx, "task_cancelled", {
        task_id: cancelled.id,
        reason: cancelled.reason,
        cancelled_by: "system",
        cause_task_id: task.id,
      }),
    ),
  ]);
  await enqueueAlert(
    ctx,
    taskFailedAlert({
      taskId: task.id,
      title: task.title,
      agentId: task.assignedTo,
      error,
      attempts: Math.max(task.attempts, 1),
    }),
  );
}

/** The `approvals` sweep: pending approvals past their expiry become `expired`, each announced. */
export async function sweepApprovals(ctx: DispatcherContext): Promise<number> {
  let total = 0;
  for (;;) {
    const expired = expireApprovals(ctx.database.db, { now: ctx.now(), limit: 500 });
    for (const row of expired) await emit(ctx, "approval_expired", { approval: toApiApproval(row) });
    total += expired.length;
    if (expired.length < 500) return total;
  }
}
