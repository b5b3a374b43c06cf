import type { TaskStatus } from "@m3shd/protocol";
import { and, countDistinct, gte, lte, sql } from "drizzle-orm";
import { costLog, tasks } from "../schema";
import type { Executor } from "../types";
import { DAY_MS } from "./costs";

/**
 * Aggregates for the admin analytics. Each is one GROUP BY over a time range served by a
 * `created_at` index; the hub shapes the rows. Days are UTC day numbers (`ms / 86 400 000`); the
 * divisor is an integer literal, not a bound parameter, which SQLite would bind as a REAL and turn
 * the division into a fractional one.
 */

/** Task counts created in [from, to], by status, holder, capability and UTC day. */
export function taskCounts(
  db: Executor,
  input: { from: number; to: number },
): { status: TaskStatus; agentId: string | null; capability: string; day: number; n: number }[] {
  return db
    .select({
      status: tasks.status,
      agentId: tasks.assignedTo,
      capability: tasks.requiredCapability,
      day: sql<number>`${tasks.createdAt} / ${sql.raw(String(DAY_MS))}`,
      n: sql<number>`count(*)`,
    })
    .from(tasks)
    .where(and(gte(tasks.createdAt, input.from), lte(tasks.createdAt, input.to)))
    .groupBy(tasks.status, tasks.assignedTo, tasks.requiredCapability, sql`4`)
    .all();
}

/** Spend written in [from, to] by agent and UTC day. */
export function costByAgentDay(
  db: Executor,
  input: { from: number; to: number },
): {
  agentId: string;
  day: number;
  calls: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
}[] {
  return db
    .select({
      agentId: costLog.agentId,
      day: sql<number>`${costLog.createdAt} / ${sql.raw(String(DAY_MS))}`,
      calls: sql<number>`count(*)`,
      inputTokens: sql<number>`coalesce(sum(${costLog.inputTokens}), 0)`,
      outputTokens: sql<number>`coalesce(sum(${costLog.outputTokens}), 0)`,
      costUsd: sql<number>`coalesce(sum(${costLog.costUsd}), 0)`,
    })
    .from(costLog)
    .where(and(gte(costLog.createdAt, input.from), lte(costLog.createdAt, input.to)))
    .groupBy(costLog.agentId, sql`2`)
    .all();
}

/** Distinct tasks spent on in [from, to], per agent and in total (a task may be spent on by two agents). */
export function costTaskCounts(
  db: Executor,
  input: { from: number; to: number },
): { total: number; byAgent: Map<string, number> } {
  const range = and(gte(costLog.createdAt, input.from), lte(costLog.createdAt, input.to));
  const total = db
    .select({ n: countDistinct(costLog.taskId) })
    .from(costLog)
    .where(range)
    .get();
  const rows = db
    .select({ agentId: costLog.agentId, n: countDistinct(costLog.taskId) })
    .from(costLog)
    .where(range)
    .groupBy(costLog.agentId)
    .all();
  return { total: total?.n ?? 0, byAgent: new Map(rows.map((r) => [r.agentId, r.n])) };
}
