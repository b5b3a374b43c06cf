import { and, asc, eq, gte, isNull, lte, or, sql } from "drizzle-orm";
import { agentOutages } from "../schema";
import type { Executor } from "../types";

export type OutageRow = typeof agentOutages.$inferSelect;

/**
 * Opens an outage for the agent, unless one is open already (the partial unique index makes this
 * idempotent across processes). Returns the new row, or undefined when one was open.
 */
export function openOutage(
  db: Executor,
  input: { id: string; agentId: string; startedAt: number; now: number },
): OutageRow | undefined {
  return db
    .insert(agentOutages)
    .values({ id: input.id, agentId: input.agentId, startedAt: input.startedAt, createdAt: input.now })
    .onConflictDoNothing()
    .returning()
    .get();
}

/** Ends the agent's open outage, if any, at `now`. Returns whether one was open. */
export function closeOutage(db: Executor, input: { agentId: string; now: number }): boolean {
  return (
    db
      .update(agentOutages)
      .set({ endedAt: sql`max(${agentOutages.startedAt}, ${input.now})` })
      .where(and(eq(agentOutages.agentId, input.agentId), isNull(agentOutages.endedAt)))
      .run().changes > 0
  );
}

/** Outages that overlap [from, to], by agent then start. */
export function listOutagesOverlapping(db: Executor, input: { from: number; to: number }): OutageRow[] {
  return db
    .select()
    .from(agentOutages)
    .where(
      and(
        lte(agentOutages.startedAt, input.to),
        or(isNull(agentOutages.endedAt), gte(agentOutages.endedAt, input.from)),
      ),
    )
    .orderBy(asc(agentOutages.agentId), asc(agentOutages.startedAt))
    .all();
}
