import {
  costByAgentDay,
  costTaskCounts,
  countOpenEscalations,
  countPendingApprovals,
  DAY_MS,
  listAgents,
  listOutagesOverlapping,
  taskCounts,
  utcDayKey,
  utcDayStart,
} from "@m3shd/db";
import {
  type AgentAnalytics,
  type CostAnalytics,
  type SummaryAnalytics,
  TASK_STATUSES,
  type TaskAnalytics,
  type TaskStatus,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import { workflowsOf } from "./workflow-config";

/**
 * Admin analytics over a window of `days` UTC days ending now (see `AnalyticsQuerySchema`). Task
 * figures count tasks created in the window, grouped by status, by the agent that (last) held
 * them, by day and by capability; cost figures sum `cost_log`; uptime comes from `agent_outages`.
 */

interface Window {
  days: number;
  from: number;
  to: number;
}

function windowOf(ctx: HubContext, days: number): Window {
  const to = ctx.now();
  return { days, from: utcDayStart(to) - (days - 1) * DAY_MS, to };
}

/** Every UTC day number of the window, oldest first. */
function dayNumbers(w: Window): number[] {
  const first = w.from / DAY_MS;
  return Array.from({ length: w.days }, (_, i) => first + i);
}

const dayKey = (day: number) => utcDayKey(day * DAY_MS);
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

type Counts = { total: number; done: number; failed: number };
const zeroCounts = (): Counts => ({ total: 0, done: 0, failed: 0 });
function addCounts(map: Map<string, Counts>, key: string, status: TaskStatus, n: number) {
  const c = map.get(key) ?? zeroCounts();
  c.total += n;
  if (status === "done") c.done += n;
  if (status === "failed") c.failed += n;
  map.set(key, c);
}

function zeroStatuses(): Record<TaskStatus, number> {
  return Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
}

export function taskAnalytics(ctx: HubContext, days: number): TaskAnalytics {
  const w = windowOf(ctx, days);
  const byStatus = zeroStatuses();
  const byAgent = new Map<string, Counts>();
  const byDay = new Map<string, Counts>();
  const byCapability = new Map<string, Counts>();
  let total = 0;
  for (const row of taskCounts(ctx.database.db, w)) {
    total += row.n;
    byStatus[row.status] += row.n;
    if (row.agentId !== null) addCounts(byAgent, row.agentId, row.status, row.n);
    addCounts(byDay, dayKey(row.day), row.status, row.n);
    addCounts(byCapability, row.capability, row.status, row.n);
  }
  const sorted = <K extends string>(map: Map<string, Counts>, key: K) =>
    [...map.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, c]) => ({ [key]: k, ...c }) as { [P in K]: string } & Counts);
  return {
    ...w,
    total,
    by_status: byStatus,
    by_agent: sorted(byAgent, "agent_id"),
    by_day: dayNumbers(w).map((d) => ({ day: dayKey(d), ...(byDay.get(dayKey(d)) ?? zeroCounts()) })),
    by_capability: sorted(byCapability, "capability"),
  };
}

type Spend = { calls: number; input_tokens: number; output_tokens: number; cost_usd: number };
const zeroSpend = (): Spend => ({ calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 });

export function costAnalytics(ctx: HubContext, days: number): CostAnalytics {
  const w = windowOf(ctx, days);
  const db = ctx.database.db;
  const total = zeroSpend();
  const byAgent = new Map<string, Spend>();
  const byDay = new Map<number, Spend>();
  for (const row of costByAgentDay(db, w)) {
    for (const target of [total, getOr(byAgent, row.agentId), getOr(byDay, row.day)]) {
      target.calls += row.calls;
      target.input_tokens += row.inputTokens;
      target.output_tokens += row.outputTokens;
      target.cost_usd += row.costUsd;
    }
  }
  const tasks = costTaskCounts(db, w);
  const avg = (cost: number, n: number) => (n > 0 ? round(cost / n, 6) : 0);
  const money = (s: Spend): Spend => ({ ...s, cost_usd: round(s.cost_usd, 6) });
  return {
    ...w,
    total: money(total),
    avg_cost_per_task_usd: avg(total.cost_usd, tasks.total),
    by_agent: [...byAgent.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([agent_id, s]) => ({
        agent_id,
        ...money(s),
        avg_cost_per_task_usd: avg(s.cost_usd, tasks.byAgent.get(agent_id) ?? 0),
      })),
    by_day: dayNumbers(w).map((d) => ({ day: dayKey(d), ...money(byDay.get(d) ?? zeroSpend()) })),
  };
}

function getOr<K>(map: Map<K, Spend>, key: K): Spend {
  let value = map.get(key);
  if (!value) {
    value = zeroSpend();
    map.set(key, value);
  }
  return value;
}

export async function agentAnalytics(ctx: HubContext, days: number): Promise<AgentAnalytics> {
  const w = windowOf(ctx, days);
  const db = ctx.database.db;
  const agents = listAgents(db);
  const tasks = new Map<string, Counts>();
  for (const row of taskCounts(db, w)) {
    if (row.agentId !== null) addCounts(tasks, row.agentId, row.status, row.n);
  }
  const outages = listOutagesOverlapping(db, w);
  const memoryCounts = workflowsOf(ctx).memoryCounts;
  let memories: ReadonlyMap<string, number> | null = null;
  if (memoryCounts) {
    try {
      memories = await memoryCounts(agents.map((a) => a.id));
    } catch (err) {
      ctx.logger.warn({ err }, "analytics: memory counts unavailable");
    }
  }
  return {
    ...w,
    agents: agents.map((agent) => {
      // Observed from the window's start, or from the agent's first registration if later.
      const start = Math.min(w.to, Math.max(w.from, agent.registeredAt));
      const span = w.to - start;
      let down = 0;
      let count = 0;
      for (const o of outages) {
        if (o.agentId !== agent.id) continue;
        const overlap = Math.min(o.endedAt ?? w.to, w.to) - Math.max(o.startedAt, start);
        if (overlap > 0) down += overlap;
        count++;
      }
      return {
        agent_id: agent.id,
        status: agent.status,
        uptime_pct: span > 0 ? round(Math.max(0, 100 * (1 - down / span)), 2) : 100,
        outages: count,
        tasks: tasks.get(agent.id) ?? zeroCounts(),
        memories: memories ? (memories.get(agent.id) ?? 0) : null,
      };
    }),
  };
}

export async function summaryAnalytics(ctx: HubContext, days: number): Promise<SummaryAnalytics> {
  const tasks = taskAnalytics(ctx, days);
  const costs = costAnalytics(ctx, days);
  const agents = await agentAnalytics(ctx, days);
  const db = ctx.database.db;
  const done = tasks.by_status.done;
  const failed = tasks.by_status.failed;
  const uptimes = agents.agents.map((a) => a.uptime_pct);
  return {
    days: tasks.days,
    from: tasks.from,
    to: tasks.to,
    tasks: {
      total: tasks.total,
      done,
      failed,
      by_status: tasks.by_status,
      success_rate: done + failed > 0 ? round(done / (done + failed), 4) : null,
    },
    costs: { ...costs.total, avg_cost_per_task_usd: costs.avg_cost_per_task_usd },
    agents: {
      total: agents.agents.length,
      online: agents.agents.filter((a) => a.status === "online").length,
      busy: agents.agents.filter((a) => a.status === "busy").length,
      offline: agents.agents.filter((a) => a.status === "offline").length,
      avg_uptime_pct:
        uptimes.length > 0 ? round(uptimes.reduce((a, b) => a + b, 0) / uptimes.length, 2) : null,
    },
    open_escalations: countOpenEscalations(db),
    pending_approvals: countPendingApprovals(db),
  };
}
