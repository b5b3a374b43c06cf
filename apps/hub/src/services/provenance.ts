import {
  createProvenanceLink,
  GENESIS_HASH,
  hashLeaf,
  MerkleLog,
  type ProvenanceLink,
  verifyChain,
} from "@m3shd/crypto";
import {
  appendProvenanceRecord,
  type Executor,
  getTask,
  getTaskLink,
  lastChainLink,
  listChainLinks,
  merkleLeavesFrom,
  merkleLogSize,
  type Task as TaskRow,
} from "@m3shd/db";
import { NotFoundError, newId, ValidationError } from "@m3shd/protocol";
import type { HubContext } from "../context";

/**
 * In-memory mirror of the `merkle_leaves` table, caught up from the database before each use, so
 * several hub processes appending to one database all serve correct roots and proofs.
 *
 * Invariant: the mirror only ever holds committed leaves. It is caught up from the connection
 * outside any transaction (a read inside one would see leaves that may still roll back), and the
 * completion path never appends to it: it writes the row, commits, and the next read catches up.
 * A leaf kept after a rollback would leave this process one ahead of the table — its next leaf
 * would skip an index, and every other process would find the gap and fail.
 */
const logs = new WeakMap<object, MerkleLog>();

function syncedLog(ctx: HubContext): MerkleLog {
  if (ctx.database.sqlite.inTransaction) {
    throw new Error("the Merkle log mirror is caught up only outside transactions (commit first)");
  }
  let log = logs.get(ctx.database);
  if (!log) {
    log = new MerkleLog();
    logs.set(ctx.database, log);
  }
  for (const row of merkleLeavesFrom(ctx.database.db, log.size)) {
    if (row.leafIndex !== log.size) throw new Error(`merkle_leaves has a gap at ${log.size}`);
    log.append(Buffer.from(row.leafHash, "hex"));
  }
  return log;
}

/** The chain a task belongs to: its pipeline, or the task alone. */
export function chainIdOf(row: Pick<TaskRow, "id" | "pipelineId">): string {
  return row.pipelineId ?? row.id;
}

/**
 * Signs a completed result into its chain and appends it to the Merkle log table. Must run inside
 * the caller's IMMEDIATE transaction (with the task's transition to `done`), so a result is either
 * done-and-signed or neither. The leaf data is the link hash: a verifier holding the chain can
 * recompute the leaf and check it against the log's root. Touches no in-memory state: after the
 * commit, `provenanceLeaf(ctx, leafIndex)` gives the tree size and root the leaf produced.
 */
export function appendProvenance(tx: Executor, ctx: HubContext, row: TaskRow, output: string, now: number) {
  const chainId = chainIdOf(row);
  const prev = lastChainLink(tx, chainId);
  const agentId = row.assignedTo ?? "unknown";
  const link = createProvenanceLink({
    key: ctx.config.provenanceKey,
    prevHash: prev?.hash ?? GENESIS_HASH,
    timestamp: now,
    agentId,
    taskId: row.id,
    output,
  });
  const leafIndex = merkleLogSize(tx);
  const leafHash = hashLeaf(Buffer.from(link.hash, "hex"));
  const seq = prev ? prev.seq + 1 : 0;
  appendProvenanceRecord(tx, {
    leaf: { leafIndex, leafHash: leafHash.toString("hex"), taskId: row.id, createdAt: now },
    link: {
      id: newId("prov"),
      taskId: row.id,
      pipelineId: chainId,
      seq,
      prevHash: link.prevHash,
      hash: link.hash,
      outputHash: link.outputHash,
      agentId,
      timestamp: now,
      leafIndex,
    },
  });
  return { link: { seq, hash: link.hash }, leafIndex };
}

/**
 * After the completion committed: the leaf at `leafIndex` with the tree it completed (size
 * `leafIndex + 1` and that tree's root, whatever other hubs appended since).
 */
export function provenanceLeaf(ctx: HubContext, leafIndex: number) {
  const log = syncedLog(ctx);
  const treeSize = leafIndex + 1;
  return { index: leafIndex, treeSize, root: log.root(treeSize).toString("hex") };
}

/** `GET /api/tasks/:id/provenance`: the task's chain with a verdict and its Merkle inclusion proof. */
export function getTaskProvenance(ctx: HubContext, taskId: string) {
  const db = ctx.database.db;
  if (!getTask(db, taskId)) throw new NotFoundError("task", taskId);
  const own = getTaskLink(db, taskId);
  if (!own) throw new NotFoundError("provenance", taskId);
  const rows = listChainLinks(db, own.pipelineId);
  const links: ProvenanceLink[] = rows.map((r) => ({
    prevHash: r.prevHash,
    hash: r.hash,
    timestamp: r.timestamp,
    agentId: r.agentId,
    taskId: r.taskId,
    outputHash: r.outputHash,
  }));
  // Verify against the outputs as stored now: an output edited in the database after signing
  // shows up as an output_hash_mismatch at its link.
  const outputs = rows.map((r) => getTask(db, r.taskId)?.output ?? "");
  const verdict = verifyChain(ctx.config.provenanceKey, links, outputs);
  const log = syncedLog(ctx);
  const leafIndex = own.leafIndex ?? 0;
  return {
    task_id: taskId,
    chain_id: own.pipelineId,
    chain: rows.map((r) => ({
      index: r.seq,
      task_id: r.taskId,
      agent_id: r.agentId,
      timestamp: r.timestamp,
      prev_hash: r.prevHash,
      hash: r.hash,
      output_sha256: r.outputHash,
    })),
    verdict: verdict.ok
      ? { ok: true as const }
      : { ok: false as const, index: verdict.index, reason: verdict.reason },
    merkle: {
      leaf_index: leafIndex,
      leaf_hash: log.leafHash(leafIndex).toString("hex"),
      tree_size: log.size,
      root: log.root().toString("hex"),
      proof: log.inclusionProof(leafIndex).map((h) => h.toString("hex")),
    },
  };
}

/**
 * Inclusion proof of leaf `leafIndex` against the log at `treeSize` (default: its current size),
 * from committed leaves only. Throws a 422 when `treeSize` is beyond the log.
 */
export function merkleInclusion(ctx: HubContext, leafIndex: number, treeSize?: number) {
  const log = syncedLog(ctx);
  const size = treeSize ?? log.size;
  if (size > log.size || leafIndex >= size) {
    throw new ValidationError(`tree_size must be ≤ ${log.size} and above the leaf (${leafIndex})`, [
      { path: ["tree_size"], code: "too_big", message: `tree_size must be ≤ ${log.size}` },
    ]);
  }
  return {
    leaf_index: leafIndex,
    leaf_hash: log.leafHash(leafIndex).toString("hex"),
    tree_size: size,
    root: log.root(size).toString("hex"),
    proof: log.inclusionProof(leafIndex, size).map((h) => h.toString("hex")),
  };
}

/** The log's committed size. */
export function merkleSize(ctx: HubContext): number {
  return syncedLog(ctx).size;
}

/** `GET /api/provenance/root`. */
export function getMerkleRoot(ctx: HubContext) {
  const log = syncedLog(ctx);
  return { size: log.size, root: log.root().toString("hex") };
}

/** `GET /api/provenance/consistency?from=&to=`. */
export function getConsistency(ctx: HubContext, from: number, to: number) {
  const log = syncedLog(ctx);
  if (from > to || to > log.size) {
    throw new ValidationError(`Need 0 ≤ from ≤ to ≤ ${log.size}`, [
      { path: ["to"], code: "too_big", message: `Need 0 ≤ from ≤ to ≤ ${log.size}` },
    ]);
  }
  return {
    from,
    to,
    root_from: log.root(from).toString("hex"),
    root_to: log.root(to).toString("hex"),
    proof: log.consistencyProof(from, to).map((h) => h.toString("hex")),
  };
}
