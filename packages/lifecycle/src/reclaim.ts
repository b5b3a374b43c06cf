import {
  listHeldTasks,
  type OpenedDatabase,
  type Settlement,
  type Task as TaskRow,
  transitionTask,
} from "@m3shd/db";
import { isM3shdError, type RequeueReason, taskFailedAlert } from "@m3shd/protocol";
import {
  announceRequeue,
  emitEvent,
  enqueueAlerts,
  type LifecyclePorts,
  publishSettlement,
  settle,
} from "./effects";
import type { LifecycleSettings } from "./settings";

const LOST_RACE: ReadonlySet<string> = new Set(["illegal_transition", "stale_attempt", "forbidden"]);

/** What reclaiming needs: the lifecycle ports and the database. */
export interface ReclaimPorts extends LifecyclePorts {
  database: OpenedDatabase;
}

/**
 * Takes a task back from its agent: `assigned`/`running` → `queued`, or → `failed` when a started
 * task's attempts are used up. `attempts` counts pickups only: an `assigned` task that never
 * started goes back to the queue at no cost (its attempts were not used), so only a task that
 * started `max_attempts` times can fail here. The hub (a worker restarted under the same id) and
 * the dispatcher (offline agents, zombies, pickup timeouts) both reclaim through this. Returns
 * whether it was requeued; false when it failed for good or moved on meanwhile.
 */
export async function reclaimTask(
  ports: ReclaimPorts,
  settings: LifecycleSettings,
  task: TaskRow,
  reason: RequeueReason,
): Promise<boolean> {
  const now = ports.now();
  const attempts = task.attempts;
  const exhausted = task.status === "running" && attempts >= task.maxAttempts;
  let settlement: Settlement | null;
  try {
    settlement = ports.database.db.transaction(
      (tx) => {
        transitionTask(tx, {
          id: task.id,
          from: task.status,
          to: exhausted ? "failed" : "queued",
          // Only the holder we read: a task reassigned meanwhile is not taken from its new agent.
          match: { assignedTo: task.assignedTo, attempt: task.attempt },
          set: exhausted ? { error: `${reason}: no attempts left (${attempts}/${task.maxAttempts})` } : {},
          now,
        });
        // Failed for good: its dependents are settled (fail-fast) in the same transaction.
        return exhausted ? settle(tx, settings, { parentId: task.id, outcome: "failed", now }) : null;
      },
      { behavior: "immediate" },
    );
  } catch (err) {
    // It moved on meanwhile (completed, cancelled, reclaimed and claimed again): not ours to take.
    if (isM3shdError(err) && LOST_RACE.has(err.code)) return false;
    throw err;
  }
  if (exhausted) {
    await emitEvent(ports, "task_failed", {
      task_id: task.id,
      agent_id: task.assignedTo,
      error: `${reason}: no attempts left`,
      attempts,
      max_attempts: task.maxAttempts,
      final: true,
    });
    await publishSettlement(ports, settlement, task.id);
    await enqueueAlerts(ports, [
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
  await announceRequeue(ports, { taskId: task.id, reason, previousAgentId: task.assignedTo, attempts });
  return true;
}

/** Reclaims every task the agent holds; returns the ids that went back to the queue. */
export async function reclaimHeldTasks(
  ports: ReclaimPorts,
  settings: LifecycleSettings,
  agentId: string,
  reason: RequeueReason,
): Promise<string[]> {
  const requeued: string[] = [];
  for (const task of listHeldTasks(ports.database.db, agentId))
    if (await reclaimTask(ports, settings, task, reason)) requeued.push(task.id);
  return requeued;
}
