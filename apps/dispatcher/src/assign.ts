import {
  type Agent as AgentRow,
  countActiveTasksByAgent,
  getCapabilityStats,
  IllegalTransitionError,
  listAgents,
  nextQueuedTasks,
  setAgentStatus,
  toApiAgent,
  transitionTask,
} from "@m3shd/db";
import { agentsOverBudget, claimProbe } from "@m3shd/lifecycle";
import type { Assignment } from "@m3shd/protocol";
import type { DispatcherContext } from "./context";
import { emit } from "./events";
import {
  breakerAdmits,
  type CandidateAgent,
  type CapabilityRecord,
  effectiveBreaker,
  selectAgent,
} from "./select";

export interface PassResult {
  considered: number;
  assigned: number;
}

/**
 * One dispatch pass: read the queued tasks in dispatch order (priority, then age), read every live
 * agent once, and assign greedily — each task to the best eligible agent, updating the in-memory
 * slot counts as it goes. Each assignment is a conditional `queued → assigned` update, so a task
 * cancelled or taken by another dispatcher meanwhile is skipped, never double-assigned.
 */
export async function runDispatchPass(
  ctx: DispatcherContext,
  /** Called after the commit with each assignment's wait: queued (its last transition) → assigned, in ms. */
  onAssigned?: (waitMs: number) => void,
): Promise<PassResult> {
  const db = ctx.database.db;
  const now = ctx.now();
  const rows = listAgents(db, { status: ["online", "busy"] });
  const seen = rows.length > 0 ? await ctx.queue.liveness.all() : new Map<string, number>();
  // Live: heard from within the offline timeout, and not known to have lost its long-poll (a
  // worker killed mid-poll, or cut off, is offered nothing until it polls again).
  const live = rows.filter(
    (a) => a.pollLostAt === null && (seen.get(a.id) ?? a.lastSeenAt ?? 0) >= now - ctx.config.offlineAfterMs,
  );
  const active = countActiveTasksByAgent(
    db,
    live.map((a) => a.id),
  );
  // Over their daily token cap: no new work today (they keep their slots and status).
  const overBudget = agentsOverBudget(ctx.database, live, ctx.config.dailyTokenCap, now);
  const agents = new Map<string, CandidateAgent & { row: AgentRow }>();
  for (const row of live) {
    const activeTasks = active.get(row.id) ?? 0;
    // Slots: the worker's own, under the operator's ceiling; none at all in maintenance.
    const slots = row.maintenance
      ? 0
      : Math.min(row.maxConcurrent, row.maxConcurrentOverride ?? row.maxConcurrent);
    agents.set(row.id, {
      row,
      id: row.id,
      // Never outside the registering token's binding or the operator's restriction, whatever the
      // row advertises.
      capabilities: row.capabilities.filter(
        (c) =>
          (!row.allowedCapabilities || row.allowedCapabilities.includes(c)) &&
          (!row.operatorCapabilities || row.operatorCapabilities.includes(c)),
      ),
      activeTasks,
      freeSlots: Math.max(0, slots - activeTasks),
      breakerState: row.breakerState,
      breakerOpenedAt: row.breakerOpenedAt ?? null,
    });
  }

  // Read only as much queued work as the free capacity can take, and only for capabilities some
  // admitted agent can serve now: a pass costs O(free slots), not O(backlog), so a deep queue
  // with a full fleet stays cheap no matter how often passes are triggered.
  let freeTotal = 0;
  const servable = new Set<string>();
  for (const a of agents.values()) {
    // A draining agent (over its load ceiling, said its heartbeat) would only sit on the work.
    if (a.freeSlots <= 0 || overBudget.has(a.id) || a.row.draining) continue;
    if (!breakerAdmits(a, now, ctx.config.selection.breakerCooldownMs)) continue;
    freeTotal += a.freeSlots;
    for (const c of a.capabilities) servable.add(c);
  }
  const queued =
    freeTotal === 0
      ? []
      : nextQueuedTasks(db, {
          limit: Math.min(ctx.config.batchSize, freeTotal + 4),
          capabilities: [...servable],
        });

  const records = new Map<string, Map<string, CapabilityRecord>>();
  const recordsFor = (capability: string) => {
    let r = records.get(capability);
    if (!r) {
      r = new Map(getCapabilityStats(db, capability).map((s) => [s.agentId, s]));
      records.set(capability, r);
    }
    return r;
  };

  // Every write of the pass shares one IMMEDIATE transaction (one WAL commit, however many tasks
  // it assigns); events are published after the commit, in decision order, so no subscriber ever
  // hears of an assignment that could still roll back.
  const events: (() => Promise<unknown>)[] = [];
  let assigned = 0;
  const waitsMs: number[] = [];
  db.transaction(
    (tx) => {
      for (const task of queued) {
        const capable = [...agents.values()].filter(
          (a) =>
            a.freeSlots > 0 &&
            !overBudget.has(a.id) &&
            !a.row.draining &&
            a.capabilities.includes(task.requiredCapability) &&
            // A node whose result for this task the validator found invalid never gets it back.
            !task.excludedAgents?.includes(a.id),
        );
        if (capable.length === 0) continue;
        const choice = selectAgent({
          capability: task.requiredCapability,
          assignTo: task.assignTo,
          agents: capable,
          records: recordsFor(task.requiredCapability),
          now,
          config: ctx.config.selection,
        });
        const winner = choice.winner ? agents.get(choice.winner) : undefined;
        if (!winner || choice.strategy === "none") continue;

        // A half-open breaker takes exactly one probe: claim it with a conditional update so
        // two dispatchers cannot both send one.
        const breaker = effectiveBreaker(winner, now, ctx.config.selection.breakerCooldownMs);
        if (breaker === "half_open" && winner.breakerState === "open") {
          const probe = claimProbe(tx, { agentId: winner.id, failures: winner.row.breakerFailures, now });
          if (!probe) continue;
          winner.breakerState = "half_open";
          events.push(() => emit(ctx, "agent_breaker", probe));
        }

        const assignment: Assignment = {
          candidates: choice.candidates,
          winner: winner.id,
          strategy: choice.strategy,
          decided_at: now,
        };
        try {
          transitionTask(tx, {
            id: task.id,
            from: "queued",
            to: "assigned",
            set: { assignedTo: winner.id, assignment },
            now,
          });
        } catch (err) {
          if (err instanceof IllegalTransitionError) continue; // cancelled or taken meanwhile
          throw err;
        }
        winner.freeSlots -= 1;
        winner.activeTasks += 1;
        assigned++;
        // Queued since its last transition (creation, a requeue or a release from `waiting`).
        waitsMs.push(Math.max(0, now - task.updatedAt));
        events.push(() => emit(ctx, "task_assigned", { task_id: task.id, agent_id: winner.id, assignment }));
      }

      // Busy/online bookkeeping: only state changes are written and announced.
      for (const a of agents.values()) {
        if (a.row.maintenance) continue; // its status says what it is doing; maintenance is a flag beside it
        const status = a.freeSlots <= 0 ? "busy" : "online";
        if (status === a.row.status) continue;
        const { agent, changed } = setAgentStatus(tx, { id: a.id, status, now });
        if (!changed) continue;
        const activeTasks = a.activeTasks;
        events.push(
          status === "busy"
            ? () =>
                emit(ctx, "agent_busy", {
                  agent_id: a.id,
                  active_tasks: activeTasks,
                  max_concurrent: agent.maxConcurrent,
                })
            : () =>
                emit(ctx, "agent_online", {
                  agent: toApiAgent(agent, { activeTasks, lastSeen: seen.get(a.id) ?? null }),
                }),
        );
      }
    },
    { behavior: "immediate" },
  );
  if (onAssigned) for (const ms of waitsMs) onAssigned(ms);
  for (const publish of events) await publish();
  return { considered: queued.length, assigned };
}
