import { type Executor, type Settlement, settleDependents } from "@m3shd/db";
import type { AlertJob, MeshEventData, MeshEventType, RequeueReason } from "@m3shd/protocol";
import { publishMeshEvent, type QueueRuntime } from "@m3shd/queue";
import type { LifecycleSettings } from "./settings";

/**
 * What lifecycle code needs of the app running it; the hub's and the dispatcher's contexts both
 * have this shape, so they pass themselves.
 */
export interface LifecyclePorts {
  queue: QueueRuntime;
  logger: { error(obj: object, msg: string): void };
  now(): number;
}

/** Publishes a mesh event with the app's clock (see `publishMeshEvent` for the ordering rule). */
export function emitEvent<T extends MeshEventType>(ports: LifecyclePorts, type: T, data: MeshEventData<T>) {
  return publishMeshEvent(ports.queue.bus, type, data, ports.now());
}

/**
 * In the transaction that moved `parentId` to a terminal status: release or cancel its dependents
 * by the lifecycle settings (fail-fast or not). The hub's completions and cancellations and the
 * dispatcher's reclaims all settle through here, so they follow one policy.
 */
export function settle(
  tx: Executor,
  settings: LifecycleSettings,
  input: { parentId: string; outcome: "done" | "failed" | "cancelled"; now: number },
): Settlement {
  return settleDependents(tx, { ...input, settings: settings.dag });
}

/**
 * After the settling transaction committed: released children (`task_requeued`, reason `released`,
 * and their dispatch jobs in one bulk enqueue) and fail-fast cancellations (`task_cancelled`
 * naming the cause). Nothing is announced before the commit, so no subscriber hears of a change
 * that could still roll back.
 */
export async function publishSettlement(
  ports: LifecyclePorts,
  settlement: Settlement | null,
  causeTaskId: string,
): Promise<void> {
  if (!settlement) return;
  const { released, cancelled } = settlement;
  // Published together, not one await after another: over Redis they go out in one pipeline (in
  // order, on one connection) instead of a round trip each, which matters for a wide fan-out.
  await Promise.all([
    ...released.map((child) =>
      emitEvent(ports, "task_requeued", {
        task_id: child.id,
        reason: "released",
        previous_agent_id: null,
        attempts: child.attempts,
      }),
    ),
    released.length > 0
      ? ports.queue.jobs.enqueueMany(
          "dispatch.assign",
          released.map((child) => ({ taskId: child.id })),
        )
      : undefined,
    ...cancelled.map((c) =>
      emitEvent(ports, "task_cancelled", {
        task_id: c.id,
        reason: c.reason,
        cancelled_by: "system",
        cause_task_id: causeTaskId,
      }),
    ),
  ]);
}

/**
 * After a task went back to `queued` (retry, agent offline, zombie): announce it and enqueue its
 * dispatch job. Were the enqueue lost, the reconciler finds the queued row.
 */
export async function announceRequeue(
  ports: LifecyclePorts,
  input: { taskId: string; reason: RequeueReason; previousAgentId: string | null; attempts: number },
): Promise<void> {
  await emitEvent(ports, "task_requeued", {
    task_id: input.taskId,
    reason: input.reason,
    previous_agent_id: input.previousAgentId,
    attempts: input.attempts,
  });
  await ports.queue.jobs.enqueue("dispatch.assign", { taskId: input.taskId });
}

/**
 * Enqueues alerts after the state change that caused them committed; never throws: the change
 * stands, and a lost alert must not turn a completed request or sweep into an error. The hub's
 * `alerts.send` consumer delivers them.
 */
export async function enqueueAlerts(ports: LifecyclePorts, alerts: readonly AlertJob[]): Promise<void> {
  for (const alert of alerts) {
    try {
      await ports.queue.jobs.enqueue("alerts.send", alert);
    } catch (err) {
      ports.logger.error({ err, kind: alert.kind, dedupeKey: alert.dedupeKey }, "could not enqueue alert");
    }
  }
}
