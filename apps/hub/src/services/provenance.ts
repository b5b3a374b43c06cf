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
  type Task as TaskRow,
} from "@m3shd/db";
import { NotFoundError, newId, ValidationError } from "@m3shd/protocol";
import type { HubContext } from "../context";

/**
 * In-memory mirror of the `merkle_leaves` table, caught up from the database before each use, so
 * several hub processes appending to one database all serve correct roots and proofs.
 */
const logs = new WeakMap<object, MerkleLog>();

function syncedLog(ctx: HubContext, db: Executor): MerkleLog {
  let log = logs.get(ctx.database);
  if (!log) {
    log = new MerkleLog();
    logs.set(ctx.database, log);
  }
  for (const row of merkleLeavesFrom(db, log.size)) {
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
 * Signs a completed result into its chain and appends it to the Merkle log. Must run inside the
 * caller's IMMEDIATE transaction (with the task's transition to `done`), so a result is either
 * done-and-signed or neither. The leaf data is the link hash: a verifier holding the chain can
 * recompute the leaf and check it against the log's root.
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
  const log = syncedLog(ctx, tx);
  const leafIndex = log.size;
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
  // Only now mutate the cache: if the transaction rolls back, the next sync re-reads the table.
  log.append(leafHash);
  return {
    link: { seq, hash: link.hash },
    leaf: { index: leafIndex, treeSize: log.size, root: log.root().toString("hex") },
  };
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
  const log = syncedLog(ctx, db);
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

/** `GET /api/provenance/root`. */
export function getMerkleRoot(ctx: HubContext) {
  const log = syncedLog(ctx, ctx.database.db);
  return { size: log.size, root: log.root().toString("hex") };
}

/** `GET /api/provenance/consistency?from=&to=`. */
export function getConsistency(ctx: HubContext, from: number, to: number) {
  const log = syncedLog(ctx, ctx.database.db);
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
