import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "@m3shd/client";
import {
  canonicalJson,
  hashLeaf,
  nodeKeyId,
  sha256Hex,
  verifyCanonical,
  verifyInclusion,
} from "@m3shd/crypto";
import { type CreditRuleId, unitsFromBasis } from "@m3shd/jobs";
import {
  type LedgerEntry,
  LedgerEntrySchema,
  type NodeKey,
  NodeKeySchema,
  type Receipt,
  ReceiptSchema,
} from "@m3shd/protocol";
import { z } from "zod";
import type { Progress } from "./context";

/**
 * A contribution bundle: a directory that proves, offline, what the hub credited and why.
 *
 *   manifest.json     format, version, hub, when, the checkpoint it was cut at, counts
 *   checkpoints.json  Merkle log checkpoints: [{ tree_size, root }]; the last one is the bundle's
 *   ledger.jsonl      every ledger entry below the checkpoint, one JSON object a line, oldest first
 *   receipts/<task>.json  one receipt per task (signed envelopes, ledger entries, inclusion proofs)
 *   keys.json         every node's public keys: { "<agent>": [NodeKey, …] }
 *   totals.json       per node: units, validated, invalid, unsupported (recomputed by the audit)
 */
export const BUNDLE_FORMAT = "m3shd-contribution-bundle";
export const BUNDLE_VERSION = 1;

const CheckpointSchema = z.object({ tree_size: z.int().min(0), root: z.string().regex(/^[0-9a-f]{64}$/) });
export type Checkpoint = z.infer<typeof CheckpointSchema>;

const ManifestSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(BUNDLE_VERSION),
  hub: z.string(),
  created_at: z.string(),
  checkpoint: CheckpointSchema,
  counts: z.object({ entries: z.int(), receipts: z.int(), nodes: z.int() }),
});

const NodeTotalsSchema = z.object({
  units: z.int().min(0),
  validated: z.int().min(0),
  invalid: z.int().min(0),
  unsupported: z.int().min(0),
});
type NodeTotals = z.infer<typeof NodeTotalsSchema>;

/** Per node totals of a ledger (what `totals.json` holds and the audit recomputes). */
export function totalsOf(entries: readonly LedgerEntry[]): Record<string, NodeTotals> {
  const totals: Record<string, NodeTotals> = {};
  for (const e of entries) {
    const t = totals[e.agent_id] ?? { units: 0, validated: 0, invalid: 0, unsupported: 0 };
    totals[e.agent_id] = t;
    t.units += e.units;
    if (e.outcome === "valid" || e.outcome === "trusted") t.validated++;
    else if (e.outcome === "invalid") t.invalid++;
    else t.unsupported++;
  }
  return Object.fromEntries(Object.entries(totals).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** SHA-256 of the canonical JSON of a ledger entry's fields other than `entry_hash`. */
export function entryHashOf(entry: LedgerEntry): string {
  const { entry_hash: _ignored, ...fields } = entry;
  return sha256Hex(canonicalJson(fields));
}

async function allPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; next: string | null }>,
) {
  const out: T[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await fetchPage(cursor);
    out.push(...page.items);
    if (!page.next) return out;
    cursor = page.next;
  }
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * Writes a bundle cut at the log's current size: the checkpoint first, then every ledger entry
 * and receipt below it (later entries are left for the next export), then the nodes' keys.
 */
export async function exportBundle(
  client: Client,
  dir: string,
  options: { node?: string; progress?: (total: number) => Progress; now?: () => Date } = {},
) {
  if (existsSync(dir) && readdirSync(dir).length > 0) throw new Error(`${dir} exists and is not empty`);
  mkdirSync(join(dir, "receipts"), { recursive: true });
  const root = (await client.provenance.root()).body;
  const checkpoint: Checkpoint = { tree_size: root.size, root: root.root };
  const entries = await allPages(async (cursor) => {
    const { body } = await client.ledger.list({
      query: {
        limit: 500,
        tree_size: String(checkpoint.tree_size),
        ...(options.node ? { node: options.node } : {}),
        ...(cursor ? { cursor } : {}),
      },
    });
    return { items: body.entries, next: body.next_cursor };
  });
  const tasks = [...new Set(entries.map((e) => e.task_id))];
  const bar = options.progress?.(tasks.length);
  for (const taskId of tasks) {
    const { body } = await client.tasks.receipt({
      params: { id: taskId },
      query: { tree_size: String(checkpoint.tree_size) },
    });
    writeFileSync(join(dir, "receipts", `${taskId}.json`), json(body));
    bar?.tick();
  }
  bar?.done();
  const agents = [...new Set(entries.map((e) => e.agent_id))].sort();
  const keys: Record<string, NodeKey[]> = {};
  for (const agent of agents) keys[agent] = (await client.agents.keys({ params: { id: agent } })).body.keys;
  writeFileSync(join(dir, "ledger.jsonl"), entries.map((e) => `${JSON.stringify(e)}\n`).join(""));
  writeFileSync(join(dir, "checkpoints.json"), json([checkpoint]));
  writeFileSync(join(dir, "keys.json"), json(keys));
  writeFileSync(join(dir, "totals.json"), json(totalsOf(entries)));
  const manifest = {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    hub: client.baseUrl,
    created_at: (options.now?.() ?? new Date()).toISOString(),
    checkpoint,
    counts: { entries: entries.length, receipts: tasks.length, nodes: agents.length },
  };
  writeFileSync(join(dir, "manifest.json"), json(manifest));
  return { dir, ...manifest };
}

export interface AuditResult {
  ok: boolean;
  /** Each problem names the file and the entry, receipt, key or checkpoint it is about. */
  problems: string[];
  checked: { entries: number; receipts: number; signatures: number; proofs: number; keys: number };
  totals: Record<string, NodeTotals>;
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, "utf8"));
}

/**
 * Verifies a bundle offline and read-only: every ledger entry's hash and units (recomputed from
 * its rule and basis), every receipt against the ledger, every envelope signature against the
 * node's key, every Merkle inclusion proof against the checkpoint, every key id against its key,
 * and the per-node totals. Never throws on a bad bundle: it lists the problems.
 */
export function auditBundle(
  dir: string,
  options: { progress?: (total: number) => Progress } = {},
): AuditResult {
  const problems: string[] = [];
  const checked = { entries: 0, receipts: 0, signatures: 0, proofs: 0, keys: 0 };
  const result = (totals: Record<string, NodeTotals> = {}): AuditResult => ({
    ok: problems.length === 0,
    problems,
    checked,
    totals,
  });
  const load = <T>(file: string, schema: z.ZodType<T>): T | null => {
    try {
      const raw = readJson(join(dir, file));
      const parsed = schema.parse(raw);
      if (canonicalJson(raw) !== canonicalJson(parsed)) throw new Error(`fields outside the ${file} format`);
      return parsed;
    } catch (err) {
      problems.push(
        `${file}: ${err instanceof SyntaxError ? "not valid JSON" : `not a valid ${file}`} (${(err as Error).message.split("\n")[0]})`,
      );
      return null;
    }
  };

  const manifest = load("manifest.json", ManifestSchema);
  const checkpoints = load("checkpoints.json", z.array(CheckpointSchema).min(1));
  const keysByAgent = load("keys.json", z.record(z.string(), z.array(NodeKeySchema)));
  const totalsClaimed = load("totals.json", z.record(z.string(), NodeTotalsSchema));
  if (!manifest || !checkpoints || !keysByAgent || !totalsClaimed) return result();
  const checkpoint = checkpoints.at(-1) as Checkpoint;
  const cpName = `checkpoint tree_size=${checkpoint.tree_size}`;
  if (canonicalJson(checkpoint) !== canonicalJson(manifest.checkpoint))
    problems.push(`checkpoints.json: ${cpName} differs from the manifest's checkpoint`);

  // Keys: each id must be its key's fingerprint.
  const keys = new Map<string, NodeKey>();
  for (const [agent, list] of Object.entries(keysByAgent)) {
    for (const key of list) {
      checked.keys++;
      if (key.agent_id !== agent)
        problems.push(`keys.json: key ${key.key_id} is listed under ${agent} but names ${key.agent_id}`);
      if (nodeKeyId(key.public_key) !== key.key_id)
        problems.push(`keys.json: key ${key.key_id} does not match its public key`);
      keys.set(key.key_id, key);
    }
  }

  // Ledger: each line an entry whose hash and units recompute.
  const entries = new Map<string, LedgerEntry>();
  let lines: string[] = [];
  try {
    lines = readFileSync(join(dir, "ledger.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l.length > 0);
  } catch {
    problems.push("ledger.jsonl: missing");
  }
  for (const [i, line] of lines.entries()) {
    let entry: LedgerEntry;
    try {
      const raw: unknown = JSON.parse(line);
      entry = LedgerEntrySchema.parse(raw);
      if (canonicalJson(raw) !== canonicalJson(entry))
        throw new Error("fields outside the ledger entry format");
    } catch (err) {
      problems.push(
        `ledger.jsonl line ${i + 1}: not a ledger entry (${(err as Error).message.split("\n")[0]})`,
      );
      continue;
    }
    checked.entries++;
    const name = `ledger entry ${entry.id} (ledger.jsonl line ${i + 1})`;
    if (entryHashOf(entry) !== entry.entry_hash)
      problems.push(`${name}: entry_hash does not match its fields`);
    const credited = entry.outcome === "valid" || entry.outcome === "trusted";
    const expected = credited ? unitsFromBasis(entry.rule as CreditRuleId, entry.basis).units : 0;
    if (entry.units !== expected)
      problems.push(`${name}: ${entry.units} units, but rule ${entry.rule} on its basis gives ${expected}`);
    if (entry.leaf_index >= checkpoint.tree_size)
      problems.push(`${name}: leaf ${entry.leaf_index} is beyond the ${cpName}`);
    if (entries.has(entry.id)) problems.push(`${name}: duplicate entry id`);
    entries.set(entry.id, entry);
  }

  // Receipts: consistent with the ledger, signed by the node's key, included under the checkpoint.
  let files: string[] = [];
  try {
    files = readdirSync(join(dir, "receipts"))
      .filter((f) => f.endsWith(".json"))
      .sort();
  } catch {
    problems.push("receipts/: missing");
  }
  const covered = new Set<string>();
  const bar = options.progress?.(files.length);
  for (const file of files) {
    bar?.tick();
    const where = `receipts/${file}`;
    let receipt: Receipt;
    try {
      const raw = readJson(join(dir, "receipts", file));
      receipt = ReceiptSchema.parse(raw);
      // Every byte must mean something: a field the format does not have is a change, not noise.
      if (canonicalJson(raw) !== canonicalJson(receipt)) throw new Error("fields outside the receipt format");
    } catch (err) {
      problems.push(
        `receipt ${file.replace(/\.json$/, "")} (${where}): not a receipt (${(err as Error).message.split("\n")[0]})`,
      );
      continue;
    }
    checked.receipts++;
    // Named by its file: the task id inside may be the byte that changed.
    const name = `receipt ${file.replace(/\.json$/, "")} (${where})`;
    if (file !== `${receipt.task_id}.json`)
      problems.push(`${name}: its task_id ${receipt.task_id} does not match the file`);
    for (const r of receipt.results) {
      const e = r.ledger_entry;
      const ledgerEntry = entries.get(e.id);
      const at = `${name}, attempt ${r.attempt}`;
      if (!ledgerEntry) {
        problems.push(`${at}: ledger entry ${e.id} is not in ledger.jsonl`);
        continue;
      }
      covered.add(e.id);
      if (canonicalJson(e) !== canonicalJson(ledgerEntry))
        problems.push(`${at}: its copy of ledger entry ${e.id} differs from ledger.jsonl`);
      const same: [string, unknown, unknown][] = [
        ["task_id", receipt.task_id, e.task_id],
        ["job_type", receipt.job_type, e.job_type],
        ["input_sha256", receipt.input_sha256, e.input_sha256],
        ["attempt", r.attempt, e.attempt],
        ["agent_id", r.agent_id, e.agent_id],
      ];
      for (const [field, a, b] of same)
        if (a !== b) problems.push(`${at}: ${field} disagrees with ledger entry ${e.id}`);
      // The signed envelope: the node's own statement of what it produced.
      if (e.signed !== (r.envelope !== null))
        problems.push(`${at}: ledger entry ${e.id} says signed=${e.signed}`);
      if (r.envelope) {
        const { signature, ...payload } = r.envelope;
        const key = keys.get(r.envelope.key_id);
        if (!key || key.agent_id !== r.agent_id) {
          problems.push(`${at}: key ${r.envelope.key_id} of ${r.agent_id} is not in keys.json`);
        } else {
          checked.signatures++;
          if (!verifyCanonical(key.public_key, payload, signature).ok)
            problems.push(`${at}: envelope signature does not verify with key ${key.key_id}`);
        }
        const agrees: [string, unknown, unknown][] = [
          ["task_id", r.envelope.task_id, e.task_id],
          ["attempt", r.envelope.attempt, e.attempt],
          ["agent_id", r.envelope.agent_id, e.agent_id],
          ["key_id", r.envelope.key_id, e.key_id],
          ["input_sha256", r.envelope.input_sha256, e.input_sha256],
          ["output_sha256", r.envelope.output_sha256, e.output_sha256],
        ];
        for (const [field, a, b] of agrees)
          if (a !== b) problems.push(`${at}: envelope ${field} disagrees with ledger entry ${e.id}`);
      }
      // Inclusion of the entry (as in ledger.jsonl) under the checkpoint.
      checked.proofs++;
      const m = r.merkle;
      if (m.tree_size !== checkpoint.tree_size || m.root !== checkpoint.root) {
        problems.push(
          `${at}: proof is against tree_size=${m.tree_size} root ${m.root.slice(0, 12)}…, not the ${cpName} (root ${checkpoint.root.slice(0, 12)}…)`,
        );
        continue;
      }
      const leafHash = hashLeaf(Buffer.from(ledgerEntry.entry_hash, "hex"));
      const included = verifyInclusion({
        leafIndex: ledgerEntry.leaf_index,
        treeSize: checkpoint.tree_size,
        leafHash,
        proof: m.proof.map((h) => Buffer.from(h, "hex")),
        root: Buffer.from(checkpoint.root, "hex"),
      });
      if (m.leaf_hash !== leafHash.toString("hex"))
        problems.push(`${at}: leaf_hash is not the leaf of ledger entry ${e.id}`);
      if (m.leaf_index !== ledgerEntry.leaf_index || !included.ok)
        problems.push(
          `${at}: ledger entry ${e.id} does not prove into the ${cpName} (${included.ok ? "leaf index differs" : included.reason})`,
        );
    }
  }
  bar?.done();
  for (const [id, entry] of entries)
    if (!covered.has(id)) problems.push(`ledger entry ${id}: no receipt for task ${entry.task_id} holds it`);

  // Totals, recomputed from the verified entries.
  const totals = totalsOf([...entries.values()]);
  for (const agent of new Set([...Object.keys(totals), ...Object.keys(totalsClaimed)])) {
    const mine = totals[agent];
    const theirs = totalsClaimed[agent];
    if (canonicalJson(mine ?? null) !== canonicalJson(theirs ?? null))
      problems.push(
        `totals.json: node ${agent} claims ${canonicalJson(theirs ?? null)}, the ledger gives ${canonicalJson(mine ?? null)}`,
      );
  }
  if (manifest.counts.entries !== checked.entries || manifest.counts.receipts !== files.length)
    problems.push(
      `manifest.json: counts ${canonicalJson(manifest.counts)} do not match the bundle (${checked.entries} entries, ${files.length} receipts)`,
    );
  return result(totals);
}
