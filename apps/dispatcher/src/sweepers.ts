import {
  listAgents,
  listUnclaimedTasks,
  markPollLost,
  schema,
  setAgentStatus,
  type Task as TaskRow,
} from "@m3shd/db";
import { reclaimHeldTasks, reclaimTask as reclaimLifecycleTask } from "@m3shd/lifecycle";
import { PRIORITY_MAX, type RequeueReason, URGENCIES, type Urgency } from "@m3shd/protocol";
import { and, inArray, isNotNull, lt, or, sql } from "drizzle-orm";
import type { DispatcherContext } from "./context";
import { emit } from "./events";
import { onAgentDown } from "./workflows";

/** Takes a task back from its agent: the lifecycle module's reclaim, under this dispatcher's settings. */
export function reclaimTask(ctx: DispatcherContext, task: TaskRow, reason: RequeueReason): Promise<boolean> {
  return reclaimLifecycleTask(ctx, ctx.config, task, reason);
}

/**
 * Agents silent past `offlineAfterMs` go offline; their assigned and running tasks are reclaimed.
 * `since` is when this dispatcher started: liveness kept in memory is lost on a restart, so no
 * agent is judged silent before it has had a full timeout to be heard from again.
 */
export async function sweepHeartbeats(ctx: DispatcherContext, since = 0): Promise<string[]> {
  const now = ctx.now();
  const db = ctx.database.db;
  const seen = await ctx.queue.liveness.all();
  const gone: string[] = [];
  for (const agent of listAgents(db, { status: ["online", "busy"] })) {
    const last = seen.get(agent.id) ?? Math.max(agent.lastSeenAt ?? 0, since);
    if (last >= now - ctx.config.offlineAfterMs) continue;
    const { changed } = setAgentStatus(db, { id: agent.id, status: "offline", now });
    if (!changed) continue;
    const requeued = await reclaimHeldTasks(ctx, ctx.config, agent.id, "agent_offline");
    gone.push(agent.id);
    await emit(ctx, "agent_offline", {
      agent_id: agent.id,
      last_seen_at: seen.get(agent.id) ?? agent.lastSeenAt ?? null,
      requeued_task_ids: requeued,
    });
    await onAgentDown(ctx, agent.id, last);
  }
  return gone;
}

/**
 * Tasks assigned but not picked up within `pickupTimeoutMs` are requeued (at no attempt's cost):
 * the worker they went to died or lost its link between the assignment and its next poll, and
 * waiting for the offline or zombie timeout would strand them for minutes.
 */
export async function sweepPickups(ctx: DispatcherContext): Promise<string[]> {
  const stale = listUnclaimedTasks(ctx.database.db, {
    assignedBefore: ctx.now() - ctx.config.pickupTimeoutMs,
    limit: 1000,
  });
  const requeued: string[] = [];
  const silent = new Set<string>();
  for (const task of stale) {
    if (!(await reclaimTask(ctx, task, "pickup_timeout"))) continue;
    requeued.push(task.id);
    if (task.assignedTo) silent.add(task.assignedTo);
  }
  // An agent that let work sit unclaimed that long is not polling: like one whose poll was seen to
  // drop, it is offered nothing more until it polls again (the hub clears the mark then), so the
  // requeued task is not handed straight back to it.
  const now = ctx.now();
  for (const agentId of silent) markPollLost(ctx.database.db, agentId, now);
  return requeued;
}

/** Tasks assigned or running for longer than `zombieAfterMs` are reclaimed. */
export async function sweepZombies(ctx: DispatcherContext): Promise<string[]> {
  const cutoff = ctx.now() - ctx.config.zombieAfterMs;
  const t = schema.tasks;
  const zombies = ctx.database.db
    .select()
    .from(t)
    .where(
      or(
        and(sql`${t.status} = 'assigned'`, lt(t.assignedAt, cutoff)),
        and(sql`${t.status} = 'running'`, lt(t.startedAt, cutoff)),
      ),
    )
    .limit(1000)
    .all();
  const reclaimed: string[] = [];
  for (const task of zombies) {
    await reclaimTask(ctx, task, "zombie");
    reclaimed.push(task.id);
  }
  return reclaimed;
}

/**
 * The urgency a deadline implies now: `critical` once due (or overdue), `high` in the last quarter
 * of the time between creation and deadline, `medium` in the second half, else `low`.
 */
export function urgencyFor(task: Pick<TaskRow, "createdAt" | "deadline">, now: number): Urgency {
  if (task.deadline === null) return "low";
  const remaining = task.deadline - now;
  if (remaining <= 0) return "critical";
  const span = Math.max(1, task.deadline - task.createdAt);
  if (remaining <= span * 0.25) return "high";
  if (remaining <= span * 0.5) return "medium";
  return "low";
}

/**
 * Raises urgency (never lowers it) of unfinished tasks with deadlines, and priority with it: one
 * priority step per urgency step, capped at the maximum.
 */
export async function sweepDeadlines(ctx: DispatcherContext): Promise<number> {
  const now = ctx.now();
  const t = schema.tasks;
  const rows = ctx.database.db
    .select()
    .from(t)
    .where(and(isNotNull(t.deadline), inArray(t.status, ["waiting", "queued", "assigned", "running"])))
    .all();
  let changed = 0;
  for (const task of rows) {
    const target = urgencyFor(task, now);
    const steps = URGENCIES.indexOf(target) - URGENCIES.indexOf(task.urgency);
    if (steps <= 0 || task.deadline === null) continue;
    const priority = Math.min(PRIORITY_MAX, task.priority + steps);
    // Conditional on the urgency we read, so two sweepers never bump twice.
    const updated = ctx.database.db
      .update(t)
      .set({ urgency: target, priority, updatedAt: now })
      .where(and(sql`${t.id} = ${task.id}`, sql`${t.urgency} = ${task.urgency}`))
      .returning({ id: t.id })
      .all();
    if (updated.length === 0) continue;
    changed++;
    await emit(ctx, "task_urgency_changed", {
      task_id: task.id,
      from: task.urgency,
      to: target,
      priority,
      deadline: task.deadline,
    });
  }
  return changed;
}
