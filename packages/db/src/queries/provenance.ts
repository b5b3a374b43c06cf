import { asc, desc, eq, gte, sql } from "drizzle-orm";
import { prepared } from "../prepared";
import { merkleLeaves, provenanceLinks } from "../schema";
import type { Executor } from "../types";

export type ProvenanceLinkRow = typeof provenanceLinks.$inferSelect;
export type MerkleLeafRow = typeof merkleLeaves.$inferSelect;

/** The last link of a chain (pipeline), or undefined for a new chain. */
export function lastChainLink(db: Executor, chainId: string): ProvenanceLinkRow | undefined {
  return prepared(db, "lastChainLink", () =>
    db
      .select()
      .from(provenanceLinks)
      .where(eq(provenanceLinks.pipelineId, sql.placeholder("chain")))
      .orderBy(desc(provenanceLinks.seq))
      .limit(1)
      .prepare(),
  ).get({ chain: chainId });
}

/** Every link of a chain, in order. */
export function listChainLinks(db: Executor, chainId: string): ProvenanceLinkRow[] {
  return db
    .select()
    .from(provenanceLinks)
    .where(eq(provenanceLinks.pipelineId, chainId))
    .orderBy(asc(provenanceLinks.seq))
    .all();
}

/** The link signed for a task, if any. */
export function getTaskLink(db: Executor, taskId: string): ProvenanceLinkRow | undefined {
  return db.select().from(provenanceLinks).where(eq(provenanceLinks.taskId, taskId)).get();
}

/**
 * Appends a signed link and its Merkle leaf. Call inside the transaction that completes the task,
 * so a result is signed exactly when it is done. Both tables are append-only.
 */
export function appendProvenanceRecord(
  db: Executor,
  input: { link: typeof provenanceLinks.$inferInsert; leaf: typeof merkleLeaves.$inferInsert },
): void {
  prepared(db, "appendProvenanceRecord:leaf", () =>
    db
      .insert(merkleLeaves)
      .values({
        leafIndex: sql.placeholder("leafIndex"),
        leafHash: sql.placeholder("leafHash"),
        taskId: sql.placeholder("taskId"),
        createdAt: sql.placeholder("createdAt"),
      })
      .prepare(),
  ).run({ ...input.leaf, taskId: input.leaf.taskId ?? null, createdAt: input.leaf.createdAt ?? Date.now() });
  prepared(db, "appendProvenanceRecord:link", () =>
    db
      .insert(provenanceLinks)
      .values({
        id: sql.placeholder("id"),
        taskId: sql.placeholder("taskId"),
        pipelineId: sql.placeholder("pipelineId"),
        seq: sql.placeholder("seq"),
        prevHash: sql.placeholder("prevHash"),
        hash: sql.placeholder("hash"),
        outputHash: sql.placeholder("outputHash"),
        agentId: sql.placeholder("agentId"),
        timestamp: sql.placeholder("timestamp"),
        leafIndex: sql.placeholder("leafIndex"),
      })
      .prepare(),
  ).run({ ...input.link, leafIndex: input.link.leafIndex ?? null });
}

/** Merkle leaves from `fromIndex` on, in order (to catch an in-memory log up with the table). */
export function merkleLeavesFrom(db: Executor, fromIndex: number): { leafIndex: number; leafHash: string }[] {
  return prepared(db, "merkleLeavesFrom", () =>
    db
      .select({ leafIndex: merkleLeaves.leafIndex, leafHash: merkleLeaves.leafHash })
      .from(merkleLeaves)
      .where(gte(merkleLeaves.leafIndex, sql.placeholder("from")))
      .orderBy(asc(merkleLeaves.leafIndex))
      .prepare(),
  ).all({ from: fromIndex });
}

/**
 * The Merkle log's size as `db` sees it (`max(leaf_index) + 1`, one probe of the primary key).
 * Inside the completing transaction this is the index the next leaf takes: the IMMEDIATE lock makes
 * it exact without consulting any in-memory copy of the log.
 */
export function merkleLogSize(db: Executor): number {
  const row = prepared(db, "merkleLogSize", () =>
    db
      .select({ top: sql<number | null>`max(${merkleLeaves.leafIndex})` })
      .from(merkleLeaves)
      .prepare(),
  ).get();
  return row?.top === null || row?.top === undefined ? 0 : row.top + 1;
}
