import { and, asc, desc, eq, gt, gte, inArray, lt, sql } from "drizzle-orm";
import { ledgerEntries, merkleLeaves, nodeKeys, resultEnvelopes, validationStreaks } from "../schema";
import type { Executor } from "../types";

export type NodeKeyRow = typeof nodeKeys.$inferSelect;
export type LedgerEntryRow = typeof ledgerEntries.$inferSelect;
export type ResultEnvelopeRow = typeof resultEnvelopes.$inferSelect;

/** The agent's current key (`active` or `pending`; at most one, by a unique index). */
export function getCurrentNodeKey(db: Executor, agentId: string): NodeKeyRow | undefined {
  return db
    .select()
    .from(nodeKeys)
    .where(and(eq(nodeKeys.agentId, agentId), inArray(nodeKeys.status, ["active", "pending"])))
    .get();
}

/** One key by id. */
export function getNodeKey(db: Executor, keyId: string): NodeKeyRow | undefined {
  return db.select().from(nodeKeys).where(eq(nodeKeys.keyId, keyId)).get();
}

/** An agent's keys, newest first. */
export function listNodeKeys(db: Executor, agentId: string): NodeKeyRow[] {
  return db
    .select()
    .from(nodeKeys)
    .where(eq(nodeKeys.agentId, agentId))
    .orderBy(desc(nodeKeys.createdAt), desc(nodeKeys.keyId))
    .all();
}

/** Current keys of the given agents (`agentId → key`). */
export function currentNodeKeys(db: Executor, agentIds?: readonly string[]): Map<string, NodeKeyRow> {
  const conditions = [inArray(nodeKeys.status, ["active", "pending"])];
  if (agentIds) {
    if (agentIds.length === 0) return new Map();
    conditions.push(inArray(nodeKeys.agentId, [...agentIds]));
  }
  const rows = db
    .select()
    .from(nodeKeys)
    .where(and(...conditions))
    .all();
  return new Map(rows.map((r) => [r.agentId, r]));
}

export function insertNodeKey(db: Executor, row: typeof nodeKeys.$inferInsert): NodeKeyRow {
  return db.insert(nodeKeys).values(row).returning().get();
}

/**
 * Moves a key `from → to` (a conditional update): returns the updated row, or undefined when the
 * key was not in `from` (someone else changed it first).
 */
export function setNodeKeyStatus(
  db: Executor,
  input: {
    keyId: string;
    from: readonly NodeKeyRow["status"][];
    to: NodeKeyRow["status"];
    now: number;
    reason?: string | null;
  },
): NodeKeyRow | undefined {
  return db
    .update(nodeKeys)
    .set({
      status: input.to,
      ...(input.to === "active" ? { approvedAt: input.now } : {}),
      ...(input.to === "revoked" ? { revokedAt: input.now, revokedReason: input.reason ?? null } : {}),
    })
    .where(and(eq(nodeKeys.keyId, input.keyId), inArray(nodeKeys.status, [...input.from])))
    .returning()
    .get();
}

export function insertResultEnvelope(db: Executor, row: typeof resultEnvelopes.$inferInsert): void {
  db.insert(resultEnvelopes).values(row).run();
}

/** A task's accepted envelopes, by attempt. */
export function listResultEnvelopes(db: Executor, taskId: string): ResultEnvelopeRow[] {
  return db
    .select()
    .from(resultEnvelopes)
    .where(eq(resultEnvelopes.taskId, taskId))
    .orderBy(asc(resultEnvelopes.attempt))
    .all();
}

/** The node's consecutive valid results for a job type (0 when it has none yet). */
export function getValidationStreak(db: Executor, agentId: string, jobType: string): number {
  const row = db
    .select({ n: validationStreaks.consecutiveValid })
    .from(validationStreaks)
    .where(and(eq(validationStreaks.agentId, agentId), eq(validationStreaks.jobType, jobType)))
    .get();
  return row?.n ?? 0;
}

export function setValidationStreak(
  db: Executor,
  input: { agentId: string; jobType: string; consecutiveValid: number; now: number },
): void {
  db.insert(validationStreaks)
    .values({
      agentId: input.agentId,
      jobType: input.jobType,
      consecutiveValid: input.consecutiveValid,
      updatedAt: input.now,
    })
    .onConflictDoUpdate({
      target: [validationStreaks.agentId, validationStreaks.jobType],
      set: { consecutiveValid: input.consecutiveValid, updatedAt: input.now },
    })
    .run();
}

/** Every node × job type streak. */
export function listValidationStreaks(db: Executor) {
  return db.select().from(validationStreaks).all();
}

/** The next ledger position (inside the appending IMMEDIATE transaction this is exact). */
export function nextLedgerSeq(db: Executor): number {
  const row = db
    .select({ top: sql<number | null>`max(${ledgerEntries.seq})` })
    .from(ledgerEntries)
    .get();
  return row?.top === null || row?.top === undefined ? 0 : row.top + 1;
}

/** Appends one ledger entry and its Merkle leaf. Call inside the transaction that decided it. */
export function appendLedgerRecord(
  db: Executor,
  input: { entry: typeof ledgerEntries.$inferInsert; leafHash: string },
): LedgerEntryRow {
  db.insert(merkleLeaves)
    .values({
      leafIndex: input.entry.leafIndex,
      leafHash: input.leafHash,
      taskId: input.entry.taskId,
      createdAt: input.entry.createdAt ?? Date.now(),
    })
    .run();
  return db.insert(ledgerEntries).values(input.entry).returning().get();
}

/** Ledger entries, oldest first, filtered; `limit + 1` rows tell the caller whether a page follows. */
export function listLedgerEntries(
  db: Executor,
  input: { agentId?: string; since?: number; afterSeq?: number; belowLeaf?: number; limit: number },
): LedgerEntryRow[] {
  const conditions = [];
  if (input.agentId !== undefined) conditions.push(eq(ledgerEntries.agentId, input.agentId));
  if (input.since !== undefined) conditions.push(gte(ledgerEntries.createdAt, input.since));
  if (input.afterSeq !== undefined) conditions.push(gt(ledgerEntries.seq, input.afterSeq));
  if (input.belowLeaf !== undefined) conditions.push(lt(ledgerEntries.leafIndex, input.belowLeaf));
  return db
    .select()
    .from(ledgerEntries)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(asc(ledgerEntries.seq))
    .limit(Math.max(0, Math.trunc(input.limit)))
    .all();
}

/** A task's ledger entries, by attempt. */
export function listTaskLedgerEntries(db: Executor, taskId: string): LedgerEntryRow[] {
  return db
    .select()
    .from(ledgerEntries)
    .where(eq(ledgerEntries.taskId, taskId))
    .orderBy(asc(ledgerEntries.attempt))
    .all();
}

/** Per node: units, credited, invalid and unsupported counts. */
export function ledgerTotalsByAgent(db: Executor) {
  return db
    .select({
      agentId: ledgerEntries.agentId,
      units: sql<number>`coalesce(sum(${ledgerEntries.units}), 0)`,
      validated: sql<number>`sum(case when ${ledgerEntries.outcome} in ('valid', 'trusted') then 1 else 0 end)`,
      invalid: sql<number>`sum(case when ${ledgerEntries.outcome} = 'invalid' then 1 else 0 end)`,
      unsupported: sql<number>`sum(case when ${ledgerEntries.outcome} = 'unsupported' then 1 else 0 end)`,
      entries: sql<number>`count(*)`,
    })
    .from(ledgerEntries)
    .groupBy(ledgerEntries.agentId)
    .orderBy(asc(ledgerEntries.agentId))
    .all();
}
