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
  updateAgent,
} from "@m3shd/db";
import type { Assignment } from "@m3shd/protocol";
import type { DispatcherContext } from "./context";
import { emit } from "./events";
import { type CandidateAgent, type CapabilityRecord, effectiveBreaker, selectAgent } from "./select";

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
export async function runDispatchPass(ctx: DispatcherContext): Promise<PassResult> {
  const db = ctx.database.db;
  const now = ctx.now();
  const queued = nextQueuedTasks(db, { limit: ctx.config.batchSize });
  const rows = listAgents(db, { status: ["online", "busy"] });
  const seen = rows.length > 0 ? await ctx.queue.liveness.all() : new Map<string, number>();
  const live = rows.filter((a) => (seen.get(a.id) ?? a.lastSeenAt ?? 0) >= now - ctx.config.offlineAfterMs);
  const active = countActiveTasksByAgent(
    db,
    live.map((a) => a.id),
  );
  const agents = new Map<string, CandidateAgent & { row: AgentRow }>();
  for (const row of live) {
    const activeTasks = active.get(row.id) ?? 0;
    agents.set(row.id, {
      row,
      id: row.id,
      capabilities: row.capabilities,
      activeTasks,
      freeSlots: Math.max(0, row.maxConcurrent - activeTasks),
      breakerState: row.breakerState,
      breakerOpenedAt: row.breakerOpenedAt ?? null,
    });
  }

  const records = new Map<string, Map<string, CapabilityRecord>>();
  const recordsFor = (capability: string) => {
    let r = records.get(capability);
    if (!r) {
      r = new Map(getCapabilityStats(db, capability).map((s) => [s.agentId, s]));
      records.set(capability, r);
    }
    return r;
  };

  let assigned = 0;
  const touched = new Set<string>();
  for (const task of queued) {
    const capable = [...agents.values()].filter(
      (a) => a.freeSlots > 0 && a.capabilities.includes(task.requiredCapability),
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
    if (!choice.winner || choice.strategy === "none") continue;
    const winner = agents.get(choice.winner);
    if (!winner) continue;

    // A half-open breaker takes exactly one probe: claim it with a conditional update so two
    // dispatchers cannot both send a probe.
    const breaker = effectiveBreaker(winner, now, ctx.config.selection.breakerCooldownMs);
    if (breaker === "half_open" && winner.breakerState === "open") {
      const claimed = updateAgent(db, {
        id: winner.id,
        set: { breakerState: "half_open" },
        expect: { breakerState: ["open"] },
        now,
      });
      if (!claimed.changed) continue;
      winner.breakerState = "half_open";
      await emit(ctx, "agent_breaker", {
        agent_id: winner.id,
        from: "open",
        to: "half_open",
        failures: winner.row.breakerFailures,
      });
    }

    const assignment: Assignment = {
      candidates: choice.candidates,
      winner: winner.id,
      strategy: choice.strategy,
      decided_at: now,
    };
    try {
      transitionTask(db, {
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
    touched.add(winner.id);
    assigned++;
    // Count the trial now so the next task in this pass sees the updated exploration term.
    const rec = recordsFor(task.requiredCapability);
    if (!rec.has(winner.id)) rec.set(winner.id, { successes: 0, failures: 0 });
    await emit(ctx, "task_assigned", { task_id: task.id, agent_id: winner.id, assignment });
  }

  // Busy/online bookkeeping: only state changes are written and announced.
  for (const a of agents.values()) {
    const status = a.freeSlots <= 0 ? "busy" : "online";
    if (status === a.row.status) continue;
    const { agent, changed } = setAgentStatus(db, { id: a.id, status, now });
    if (!changed) continue;
    if (status === "busy") {
      await emit(ctx, "agent_busy", {
        agent_id: a.id,
        active_tasks: a.activeTasks,
        max_concurrent: a.row.maxConcurrent,
      });
    } else {
      await emit(ctx, "agent_online", {
        agent: toApiAgent(agent, { activeTasks: a.activeTasks, lastSeen: seen.get(a.id) ?? null }),
      });
    }
  }
  return { considered: queued.length, assigned };
}
