import { and, asc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { prepared } from "../prepared";
import { agentCapabilityStats } from "../schema";
import type { Executor } from "../types";

export type CapabilityStats = typeof agentCapabilityStats.$inferSelect;

/** Count one task outcome for `agentId` on `capability` (upsert; the first outcome creates the row). */
export function recordCapabilityOutcome(
  db: Executor,
  input: { agentId: string; capability: string; success: boolean; now: number },
): CapabilityStats {
  // Two prepared upserts (success / failure): every completion records one.
  const upsert = prepared(db, `recordCapabilityOutcome:${input.success}`, () => {
    const column = input.success ? agentCapabilityStats.successes : agentCapabilityStats.failures;
    const now = sql.placeholder("now");
    return db
      .insert(agentCapabilityStats)
      .values({
        agentId: sql.placeholder("agentId"),
        capability: sql.placeholder("capability"),
        successes: input.success ? 1 : 0,
        failures: input.success ? 0 : 1,
        lastOutcomeAt: now,
        createdAt: now,
      })
      .onConflictDoUpdate({
        target: [agentCapabilityStats.agentId, agentCapabilityStats.capability],
        set: input.success
          ? { successes: sql`${column} + 1`, lastOutcomeAt: sql`excluded.last_outcome_at` }
          : { failures: sql`${column} + 1`, lastOutcomeAt: sql`excluded.last_outcome_at` },
      })
      .returning()
      .prepare();
  });
  const row = upsert.get({ agentId: input.agentId, capability: input.capability, now: input.now });
  if (!row) throw new Error("recordCapabilityOutcome: no row returned");
  return row;
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
  if (agentIds === undefined) {
    return prepared(db, "getCapabilityStats", () =>
      db
        .select()
        .from(agentCapabilityStats)
        .where(eq(agentCapabilityStats.capability, sql.placeholder("capability")))
        .orderBy(asc(agentCapabilityStats.agentId))
        .prepare(),
    ).all({ capability });
  }
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
