import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { checkAtLeast, createdAt } from "./columns";
import { tasks } from "./tasks";

// Both tables are append-only. Their task FKs have no ON DELETE action on purpose: a task whose
// result was signed into the chain or the Merkle log cannot be deleted.

/** One signed result in a pipeline's HMAC chain (genesis prev_hash = 64 zeros). */
export const provenanceLinks = sqliteTable(
  "provenance_links",
  {
    id: text().primaryKey(),
    taskId: text()
      .notNull()
      .references(() => tasks.id),
    /** The pipeline id, or the task id for a task outside any pipeline. */
    pipelineId: text().notNull(),
    /** Position in the chain, from 0. */
    seq: integer().notNull(),
    prevHash: text().notNull(),
    hash: text().notNull(),
    outputHash: text().notNull(),
    agentId: text().notNull(),
    /** Epoch ms that was signed. */
    timestamp: integer().notNull(),
    /** The result's leaf in the Merkle log. */
    leafIndex: integer(),
  },
  (t) => [
    uniqueIndex("provenance_links_pipeline_seq_unique").on(t.pipelineId, t.seq),
    // One signed result per task.
    uniqueIndex("provenance_links_task_id_unique").on(t.taskId),
    checkAtLeast("provenance_links_seq_check", t.seq, 0),
  ],
);

/** The RFC 6962 append-only log: leaf `n` is the n-th result ever recorded. */
export const merkleLeaves = sqliteTable(
  "merkle_leaves",
  {
    /** 0-based; the log size is `max(leaf_index) + 1`. An INTEGER PRIMARY KEY is the rowid. */
    leafIndex: integer().primaryKey(),
    /** Hex of the RFC 6962 leaf hash (SHA-256 of 0x00 ‖ data). */
    leafHash: text().notNull(),
    taskId: text().references(() => tasks.id),
    createdAt: createdAt(),
  },
  (t) => [
    checkAtLeast("merkle_leaves_leaf_index_check", t.leafIndex, 0),
    index("merkle_leaves_task_id_idx").on(t.taskId),
  ],
);
