import { and, asc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { agentCapabilityStats } from "../schema";
import type { Executor } from "../types";

export type CapabilityStats = typeof agentCapabilityStats.$inferSelect;

/** Count one task outcome for `agentId` on `capability` (upsert; the first outcome creates the row). */
export function recordCapabilityOutcome(
  db: Executor,
  input: { agentId: string; capability: string; success: boolean; now: number },
): CapabilityStats {
  const column = input.success ? agentCapabilityStats.successes : agentCapabilityStats.failures;
  return db
    .insert(agentCapabilityStats)
    .values({
      agentId: input.agentId,
      capability: input.capability,
      successes: input.success ? 1 : 0,
      failures: input.success ? 0 : 1,
      lastOutcomeAt: input.now,
      createdAt: input.now,
    })
    .onConflictDoUpdate({
      target: [agentCapabilityStats.agentId, agentCapabilityStats.capability],
      set: input.success
        ? { successes: sql`${column} + 1`, lastOutcomeAt: input.now }
        : { failures: sql`${column} + 1`, lastOutcomeAt: input.now },
    })
    .returning()
    .get();
}

/**
 * Success/failure counts of every agent with a record on `capability` (agents without one are
 * absent: the dispatcher gives them the neutral prior). Optionally restricted to `agentIds`.
 */
export function getCapabilityStats(
  db: Executor,
  capability: string,
  agentIds?: readonly string[],
): CapabilityStats[] {
  const conditions: SQL[] = [eq(agentCapabilityStats.capability, capability)];
  if (agentIds !== undefined) {
    if (agentIds.length === 0) return [];
    conditions.push(inArray(agentCapabilityStats.agentId, [...agentIds]));
  }
  return db
    .select()
    .from(agentCapabilityStats)
    .where(and(...conditions))
    .orderBy(asc(agentCapabilityStats.agentId))
    .all();
}
