import {
  IllegalTransitionError,
  listAgents,
  type Settlement,
  schema,
  setAgentStatus,
  type Task as TaskRow,
  transitionTask,
} from "@m3shd/db";
import { announceRequeue, enqueueAlerts, publishSettlement, settle } from "@m3shd/lifecycle";
import { PRIORITY_MAX, type RequeueReason, taskFailedAlert, URGENCIES, type Urgency } from "@m3shd/protocol";
import { and, inArray, isNotNull, lt, or, sql } from "drizzle-orm";
import type { DispatcherContext } from "./context";
import { emit } from "./events";
import { onAgentDown } from "./workflows";

/**
 * Takes a task back from its agent: `assigned`/`running` → `queued`, or → `failed` when its
 * attempts are used up. An `assigned` task that never started still costs an attempt, so a task
 * that keeps landing on dying agents cannot loop forever. Returns whether it was requeued.
 */
export async function reclaimTask(
  ctx: DispatcherContext,
  task: TaskRow,
  reason: RequeueReason,
): Promise<boolean> {
  const now = ctx.now();
  const attempts = task.status === "assigned" ? task.attempts + 1 : task.attempts;
  const exhausted = attempts >= task.maxAttempts;
  let settlement: Settlement | null;
  try {
    settlement = ctx.database.db.transaction(
      (tx) => {
        transitionTask(tx, {
          id: task.id,
          from: task.status,
          to: exhausted ? "failed" : "queued",
          set: {
            attempts,
            ...(exhausted ? { error: `${reason}: no attempts left (${attempts}/${task.maxAttempts})` } : {}),
          },
          now,
        });
        // Failed for good: its dependents are settled (fail-fast) in the same transaction.
        return exhausted ? settle(tx, ctx.config, { parentId: task.id, outcome: "failed", now }) : null;
      },
      { behavior: "immediate" },
    );
  } catch (err) {
    if (err instanceof IllegalTransitionError) return false; // it moved on meanwhile (completed, cancelled)
    throw err;
  }
  if (exhausted) {
    await emit(ctx, "task_failed", {
      task_id: task.id,
      agent_id: task.assignedTo,
      error: `${reason}: no attempts left`,
      attempts,
      max_attempts: task.maxAttempts,
      final: true,
    });
    await publishSettlement(ctx, settlement, task.id);
    await enqueueAlerts(ctx, [
      taskFailedAlert({
        taskId: task.id,
        title: task.title,
        agentId: task.assignedTo,
        error: `${reason}: no attempts left`,
        attempts: Math.max(attempts, 1),
      }),
    ]);
    return false;
  }
  await announceRequeue(ctx, { taskId: task.id, reason, previousAgentId: task.assignedTo, attempts });
  return true;
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
    const held = db
      .select()
      .from(schema.tasks)
      .where(
        and(
          inArray(schema.tasks.status, ["assigned", "running"]),
          sql`${schema.tasks.assignedTo} = ${agent.id}`,
        ),
      )
      .all();
    const requeued: string[] = [];
    for (const task of held) if (await reclaimTask(ctx, task, "agent_offline")) requeued.push(task.id);
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
