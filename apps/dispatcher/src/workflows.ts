import { expireApprovals, openOutage, toApiApproval } from "@m3shd/db";
import { enqueueAlerts } from "@m3shd/lifecycle";
import { agentDownAlert, newId } from "@m3shd/protocol";
import type { DispatcherContext } from "./context";
import { emit } from "./events";

/**
 * The workflows feature's share of the dispatcher: outages and "agent down" alerts from the
 * heartbeat sweeper, and approval expiry. (Dependents of a task that fails for good in a sweep are
 * settled by the lifecycle module, as the hub settles its own.) Alerts are only enqueued here;
 * the hub's `alerts.send` consumer delivers them to ntfy.
 */

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
  await enqueueAlerts(ctx, [agentDownAlert({ agentId, since: outage.startedAt, outageId: outage.id })]);
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
