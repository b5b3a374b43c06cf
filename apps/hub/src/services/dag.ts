import {
  addTaskDependencies,
  type EscalationRow,
  type Executor,
  repointDependents,
  type Settlement,
  type Task as TaskRow,
  toApiEscalation,
} from "@m3shd/db";
import { enqueueAlerts, publishSettlement, settle } from "@m3shd/lifecycle";
import { type AlertJob, escalationAlert, taskFailedAlert, type Usage } from "@m3shd/protocol";
import type { HubContext } from "../context";
import { audited } from "./audit";
import { recordCost } from "./costs";
import { maybeEscalate } from "./escalations";
import { emit } from "./events";
import { workflowsOf } from "./workflow-config";

/**
 * What the workflows feature does when a task's state changes, split in two: `on…` functions run
 * inside the transaction of the change (so dependents, costs and escalations commit with it, or
 * not at all), and `publishEffects` announces the result after the commit.
 */
export interface WorkflowEffects {
  /** The task whose change caused the settlement. */
  causeTaskId: string;
  settlement: Settlement;
  escalation: EscalationRow | null;
  alerts: AlertJob[];
}

const NONE: Settlement = { released: [], cancelled: [] };

/** After a completion attempt (done, requeued for retry, or failed for good), in its transaction. */
export function onTaskOutcome(
  tx: Executor,
  ctx: HubContext,
  input: {
    /** The row after the transition. */
    task: TaskRow;
    agentId: string;
    outcome: "done" | "retry" | "failed";
    /** Whether the failure counts against the agent (its breaker counted it): only then may it escalate. */
    agentFault: boolean;
    usage: Usage | undefined;
    model: string | null;
    costUsd: number | undefined;
    error?: string;
    now: number;
  },
): WorkflowEffects {
  const alerts: AlertJob[] = [];
  const { task, agentId, now } = input;
  if (input.usage !== undefined || input.costUsd !== undefined) {
    const budget = recordCost(tx, ctx, {
      agentId,
      taskId: task.id,
      model: input.model ?? "unknown",
      inputTokens: input.usage?.input_tokens ?? 0,
      outputTokens: input.usage?.output_tokens ?? 0,
      costUsd: input.costUsd ?? 0,
      now,
    });
    if (budget) alerts.push(budget);
  }
  let escalation: EscalationRow | null = null;
  if (input.outcome !== "done" && input.agentFault) {
    escalation = maybeEscalate(tx, ctx, { agentId, taskId: task.id, error: input.error ?? "", now });
  }
  let settlement = NONE;
  if (input.outcome !== "retry") {
    settlement = settle(tx, workflowsOf(ctx), {
      parentId: task.id,
      outcome: input.outcome === "done" ? "done" : "failed",
      now,
    });
  }
  if (input.outcome === "failed") {
    alerts.push(
      taskFailedAlert({
        taskId: task.id,
        title: task.title,
        agentId,
        error: input.error ?? "",
        attempts: task.attempts,
      }),
    );
  }
  if (escalation) {
    alerts.push(
      escalationAlert({
        escalationId: escalation.id,
        agentId: escalation.agentId,
        target: escalation.target,
        failures: escalation.failures,
        reason: escalation.reason,
      }),
    );
  }
  return { causeTaskId: task.id, settlement, escalation, alerts };
}

/** After an operator cancelled a task, in the cancellation's transaction. */
export function onTaskCancelled(tx: Executor, ctx: HubContext, input: { taskId: string; now: number }) {
  return {
    causeTaskId: input.taskId,
    settlement: settle(tx, workflowsOf(ctx), {
      parentId: input.taskId,
      outcome: "cancelled",
      now: input.now,
    }),
    escalation: null,
    alerts: [],
  } satisfies WorkflowEffects;
}

/** After a handoff, in its transaction: the dependents now wait for the continuation. */
export function onTaskHandedOff(tx: Executor, input: { suspendedId: string; continuationId: string }): void {
  repointDependents(tx, { from: input.suspendedId, to: input.continuationId });
}

/**
 * Announces what a committed change did: the settlement (the lifecycle module's, as the
 * dispatcher's reclaims announce theirs), a new escalation, and the alerts.
 */
export async function publishEffects(ctx: HubContext, effects: WorkflowEffects): Promise<void> {
  await publishSettlement(ctx, effects.settlement, effects.causeTaskId);
  if (effects.escalation) {
    await emit(ctx, "escalation_created", { escalation: toApiEscalation(effects.escalation) });
  }
  await enqueueAlerts(ctx, effects.alerts);
}

/** `POST /api/tasks/:id/dependencies`: more parents for a task not yet dispatched (cycle-checked). */
export function addDependencies(ctx: HubContext, taskId: string, dependsOn: readonly string[]): TaskRow {
  return audited(
    ctx,
    "task.dependencies_add",
    (tx) => addTaskDependencies(tx, { taskId, dependsOn, now: ctx.now() }),
    () => taskId,
  );
}
