import {
  canonicalJson,
  hashLeaf,
  isEd25519PublicKey,
  nodeKeyId,
  sha256Hex,
  verifyCanonical,
} from "@m3shd/crypto";
import {
  appendLedgerRecord,
  currentNodeKeys,
  type Executor,
  getAgent,
  getCurrentNodeKey,
  getNodeKey,
  getTask,
  getValidationStreak,
  insertNodeKey,
  insertResultEnvelope,
  type LedgerEntryRow,
  ledgerTotalsByAgent,
  listLedgerEntries,
  listNodeKeys,
  listResultEnvelopes,
  listTaskLedgerEntries,
  listValidationStreaks,
  merkleLogSize,
  type NodeKeyRow,
  nextLedgerSeq,
  setNodeKeyStatus,
  setValidationStreak,
  type Task as TaskRow,
} from "@m3shd/db";
import { type Credit, isJobName, jobCredit, modelCredit, readJobRequest, runJob } from "@m3shd/jobs";
import {
  type CompleteTaskBody,
  ConflictError,
  composeTaskPrompt,
  ForbiddenError,
  type LedgerEntry,
  type LedgerListResponse,
  type LedgerOutcome,
  type LedgerQuery,
  type LedgerSummaryResponse,
  type NodeKey,
  NotFoundError,
  newId,
  type Receipt,
  type SignedResultEnvelope,
  SignedResultEnvelopeSchema,
  ValidationError,
  type ValidationMethod,
} from "@m3shd/protocol";
import { type ContributionConfig, contributionOf, type HubContext } from "../context";
import { audited } from "./audit";
import { merkleInclusion } from "./provenance";

/** Who recomputes results (named in every ledger entry it checked). */
export const HUB_VALIDATOR = "hub-validator";

const sha256 = (text: string) => sha256Hex(text);

// --- Node keys -----------------------------------------------------------------------------

/** A key row as the API returns it. */
export function toApiNodeKey(row: NodeKeyRow): NodeKey {
  return {
    key_id: row.keyId,
    agent_id: row.agentId,
    public_key: row.publicKey,
    status: row.status,
    created_at: row.createdAt,
    approved_at: row.approvedAt ?? null,
    revoked_at: row.revokedAt ?? null,
    revoked_reason: row.revokedReason ?? null,
  };
}

/** A raw Ed25519 key in its one base64url spelling (else two strings would name one key). */
function requireCanonicalKey(publicKey: string, field: string): void {
  if (!isEd25519PublicKey(publicKey))
    throw new ValidationError(`${field} is not a canonical base64url Ed25519 public key`, [
      { path: [field], code: "custom", message: "not a canonical base64url Ed25519 public key" },
    ]);
}

/**
 * Registration's key check, before the agent row is written: the key a registration presents must
 * be the agent's bound one. The first key presented is bound (trust on first use, like the token's
 * capabilities), `pending` when an admin must approve new keys; a pending key's registration is
 * refused until then. An agent with a bound key cannot register without it: that is what stops a
 * stolen bearer token from pulling (and answering) the node's work. Throws `ForbiddenError`.
 */
export function bindNodeKeyAtRegistration(
  ctx: HubContext,
  agentId: string,
  publicKey: string | undefined,
): NodeKeyRow | null {
  const db = ctx.database.db;
  const current = getCurrentNodeKey(db, agentId);
  if (publicKey === undefined) {
    if (current?.status === "active")
      throw new ForbiddenError(
        `Agent ${agentId} has a bound signing key (${current.keyId}): register with it (m3shd-worker --identity)`,
        { reason: "key_required", key_id: current.keyId },
      );
    return null;
  }
  requireCanonicalKey(publicKey, "public_key");
  const keyId = nodeKeyId(publicKey);
  let key = current;
  if (current && current.keyId !== keyId) {
    throw new ForbiddenError(
      `Agent ${agentId} is bound to key ${current.keyId}, not ${keyId}: an admin rotates keys (POST /api/agents/${agentId}/keys)`,
      { reason: "key_mismatch", key_id: current.keyId, presented_key_id: keyId },
    );
  }
  if (!current) {
    const known = getNodeKey(db, keyId);
    if (known) {
      throw new ForbiddenError(
        `Key ${keyId} is ${known.status === "revoked" ? "revoked" : "bound to another agent"}`,
        {
          reason: known.status === "revoked" ? "key_revoked" : "key_in_use",
          key_id: keyId,
        },
      );
    }
    const pending = contributionOf(ctx).requireKeyApproval;
    const now = ctx.now();
    key = audited(
      ctx,
      "node_key.bind",
      (tx) =>
        insertNodeKey(tx, {
          keyId,
          agentId,
          publicKey,
          status: pending ? "pending" : "active",
          createdAt: now,
          approvedAt: pending ? null : now,
        }),
      (row) => `${agentId}/${row.keyId}`,
    );
  }
  if (key?.status === "pending") {
    throw new ForbiddenError(`Key ${keyId} of agent ${agentId} awaits an admin's approval`, {
      reason: "key_pending",
      key_id: keyId,
    });
  }
  return key ?? null;
}

/** `GET /api/agents/:id/keys`. */
export function listKeys(ctx: HubContext, agentId: string): NodeKey[] {
  const rows = listNodeKeys(ctx.database.db, agentId);
  if (rows.length === 0 && !getAgent(ctx.database.db, agentId)) throw new NotFoundError("agent", agentId);
  return rows.map(toApiNodeKey);
}

/** Current keys of agents, for agent views (`node_key`). */
export function nodeKeySummaries(ctx: HubContext, agentIds?: readonly string[]) {
  const keys = currentNodeKeys(ctx.database.db, agentIds);
  return (agentId: string) => {
    const key = keys.get(agentId);
    return key ? { key_id: key.keyId, status: key.status } : null;
  };
}

/** `POST /api/agents/:id/keys`: binds a new active key; the current one (if any) is revoked. */
export function rotateKey(ctx: HubContext, agentId: string, publicKey: string): NodeKey {
  const db = ctx.database.db;
  if (!getAgent(db, agentId)) throw new NotFoundError("agent", agentId);
  requireCanonicalKey(publicKey, "public_key");
  const keyId = nodeKeyId(publicKey);
  if (getNodeKey(db, keyId)) throw new ConflictError(`Key ${keyId} is already known`, { key_id: keyId });
  const now = ctx.now();
  const row = audited(
    ctx,
    "node_key.rotate",
    (tx) => {
      const current = getCurrentNodeKey(tx, agentId);
      if (current)
        setNodeKeyStatus(tx, {
          keyId: current.keyId,
          from: ["active", "pending"],
          to: "revoked",
          now,
          reason: `rotated to ${keyId}`,
        });
      return insertNodeKey(tx, {
        keyId,
        agentId,
        publicKey,
        status: "active",
        createdAt: now,
        approvedAt: now,
      });
    },
    (r) => `${agentId}/${r.keyId}`,
  );
  return toApiNodeKey(row);
}

function requireKey(ctx: HubContext, agentId: string, keyId: string): NodeKeyRow {
  const row = getNodeKey(ctx.database.db, keyId);
  if (!row || row.agentId !== agentId) throw new NotFoundError("node key", keyId);
  return row;
}

/** `POST /api/agents/:id/keys/:key_id/approve`: pending → active (409 from any other status). */
export function approveKey(ctx: HubContext, agentId: string, keyId: string): NodeKey {
  const before = requireKey(ctx, agentId, keyId);
  const row = audited(
    ctx,
    "node_key.approve",
    (tx) => setNodeKeyStatus(tx, { keyId, from: ["pending"], to: "active", now: ctx.now() }),
    (r) => (r ? `${agentId}/${keyId}` : undefined),
  );
  if (!row)
    throw new ConflictError(`Key ${keyId} is ${before.status}, not pending`, { status: before.status });
  return toApiNodeKey(row);
}

/** `POST /api/agents/:id/keys/:key_id/revoke`: results signed with it are refused from now on. */
export function revokeKey(ctx: HubContext, agentId: string, keyId: string, reason?: string): NodeKey {
  requireKey(ctx, agentId, keyId);
  const row = audited(
    ctx,
    "node_key.revoke",
    (tx) =>
      setNodeKeyStatus(tx, {
        keyId,
        from: ["active", "pending"],
        to: "revoked",
        now: ctx.now(),
        reason: reason ?? "revoked by an admin",
      }),
    (r) => (r ? `${agentId}/${keyId}` : undefined),
  );
  if (!row) throw new ConflictError(`Key ${keyId} is already revoked`, { status: "revoked" });
  return toApiNodeKey(row);
}

// --- Signed results ------------------------------------------------------------------------

export interface VerifiedResult {
  signed: boolean;
  keyId: string | null;
  envelope: SignedResultEnvelope | null;
}

type DoneBody = Extract<CompleteTaskBody, { status: "done" }>;

/**
 * Checks a completion's signed envelope inside the completing transaction (so a key revoked a
 * moment earlier is seen). Refusals are 403s whose details carry the task id, the reason and the
 * envelope as received: `signature_required`, `unknown_key`, `key_revoked`, `key_pending`,
 * `envelope_mismatch`, `bad_signature`.
 */
export function verifyResultEnvelope(
  tx: Executor,
  ctx: HubContext,
  row: TaskRow,
  agentId: string,
  body: DoneBody,
): VerifiedResult {
  const envelope = body.envelope ?? null;
  const refuse = (reason: string, message: string): never => {
    throw new ForbiddenError(`Result refused: ${message}`, { task_id: row.id, reason, envelope });
  };
  const key = getCurrentNodeKey(tx, agentId);
  if (!envelope) {
    if (key)
      refuse(
        "signature_required",
        `agent ${agentId} has a bound key (${key.keyId}); its results must be signed`,
      );
    if (!contributionOf(ctx).allowUnsigned)
      refuse("signature_required", "this hub accepts signed results only");
    return { signed: false, keyId: null, envelope: null };
  }
  if (!key || key.keyId !== envelope.key_id) {
    const known = getNodeKey(tx, envelope.key_id);
    if (known?.agentId === agentId && known.status === "revoked")
      refuse("key_revoked", `key ${envelope.key_id} was revoked`);
    refuse("unknown_key", `key ${envelope.key_id} is not agent ${agentId}'s bound key`);
  }
  const bound = key as NodeKeyRow;
  if (bound.status !== "active") refuse("key_pending", `key ${bound.keyId} awaits an admin's approval`);
  const expected: Record<string, unknown> = {
    task_id: row.id,
    attempt: body.attempt,
    agent_id: agentId,
    input_sha256: sha256(row.prompt),
    output_sha256: sha256(body.output),
    model: body.model ?? null,
    usage: canonicalJson(body.usage ?? null),
  };
  for (const [field, value] of Object.entries(expected)) {
    const actual =
      field === "usage" ? canonicalJson(envelope.usage) : envelope[field as keyof SignedResultEnvelope];
    if (actual !== value) refuse("envelope_mismatch", `envelope ${field} does not match the result`);
  }
  const { signature, ...payload } = envelope;
  const check = verifyCanonical(bound.publicKey, payload, signature);
  if (!check.ok)
    refuse("bad_signature", `the signature does not verify with key ${bound.keyId} (${check.reason})`);
  return { signed: true, keyId: bound.keyId, envelope };
}

// --- Validation by recomputation -----------------------------------------------------------

export interface ValidationDecision {
  outcome: LedgerOutcome;
  method: ValidationMethod;
  checkedBy: string | null;
  streakBefore: number;
  checkProbability: number;
  reason: string;
  credit: Credit;
}

/**
 * The probability a node's next result for a job type is recomputed: 1 during probation (fewer
 * than `probation` consecutive valid results), then max(floor, 1/n) with n the streak — BOINC's
 * adaptive replication.
 */
export function checkProbability(
  config: Pick<ContributionConfig, "probation" | "minCheckRate">,
  streak: number,
) {
  if (streak < config.probation) return 1;
  return Math.min(1, Math.max(config.minCheckRate, 1 / streak));
}

function round6(p: number): number {
  return Math.round(p * 1e6) / 1e6;
}

/**
 * Decides how a result is validated and what it earns. Deterministic jobs are recomputed here by the
 * hub (the same `@m3shd/jobs` code the worker ran) and compared byte for byte — always during the
 * node's probation, then on a random sample. Model output cannot be checked by recomputation: it is
 * recorded `unsupported` with 0 units (a review by a different agent, the Verify stage, is what
 * would validate it). Reads and writes only inside `tx`; consumes the random source only after
 * probation, so a seeded source makes the sampled checks exact.
 */
export function decideValidation(
  tx: Executor,
  config: ContributionConfig,
  row: TaskRow,
  agentId: string,
  body: DoneBody,
): ValidationDecision {
  const job = row.requiredCapability;
  const zero = (credit: Credit, why: string): Credit => ({
    ...credit,
    units: 0,
    explanation: `${why}: 0 units`,
  });
  /** A result recorded, uncredited, because nothing can check it by recomputation. */
  const unsupported = (reason: string, credit: Credit): ValidationDecision => ({
    outcome: "unsupported",
    method: "none",
    checkedBy: null,
    streakBefore: 0,
    checkProbability: 0,
    reason,
    credit,
  });
  if (!isJobName(job)) {
    const credit = modelCredit({
      model: body.model ?? row.model ?? "unknown",
      inputTokens: body.usage?.input_tokens ?? 0,
      outputTokens: body.usage?.output_tokens ?? 0,
    });
    return unsupported(
      "model output is not validated by recomputation (a review by a different agent would validate it)",
      zero(credit, `unvalidated model work (${credit.explanation} once reviewed)`),
    );
  }
  const credit = jobCredit(job, body.output);
  // Only a node that registered as the deterministic `jobs` provider claims a recomputable result.
  // Any other agent serving a job capability (a test double, a model told to play one) is not
  // validated and earns nothing; it cannot escape a check and still be credited.
  const provider = getAgent(tx, agentId)?.provider ?? null;
  if (provider !== "jobs") {
    return unsupported(
      `served by provider ${JSON.stringify(provider)}, not the deterministic jobs provider: not validated`,
      zero(credit, "unvalidated"),
    );
  }
  if ((row.memoryChars ?? 0) > 0) {
    return unsupported(
      "the prompt was composed with agent memory the hub does not keep: it cannot be recomputed",
      zero(credit, "unvalidated"),
    );
  }
  const streak = getValidationStreak(tx, agentId, job);
  const p = checkProbability(config, streak);
  const sampled = p >= 1 || config.random() < p;
  const phase =
    streak < config.probation ? `probation ${streak}/${config.probation}` : `spot check p=${round6(p)}`;
  if (!sampled) {
    return {
      outcome: "trusted",
      method: "adaptive_trust",
      checkedBy: null,
      streakBefore: streak,
      checkProbability: round6(p),
      reason: `${streak} consecutive valid results: not sampled for a check (p=${round6(p)})`,
      credit,
    };
  }
  const composed = composeTaskPrompt({
    prompt: row.prompt,
    parents: row.parentOutputs,
    handoffs: row.handoffs,
  });
  const read = readJobRequest(composed, job);
  const expected = read.ok === true ? runJob(read.request) : null;
  const valid = expected !== null && expected === body.output;
  return {
    outcome: valid ? "valid" : "invalid",
    method: "recompute",
    checkedBy: HUB_VALIDATOR,
    streakBefore: streak,
    checkProbability: round6(p),
    reason: valid
      ? `${phase}: recomputed, byte-identical`
      : expected === null
        ? `${phase}: the job request does not parse, so no output is correct`
        : `${phase}: output differs from the recomputation (sha256 ${sha256(expected).slice(0, 16)}…)`,
    credit: valid ? credit : zero(credit, "invalid result"),
  };
}

/** Moves the node's streak for the job after a decision (valid/trusted: +1, invalid: reset). */
export function updateStreak(
  tx: Executor,
  agentId: string,
  jobType: string,
  decision: ValidationDecision,
  now: number,
) {
  if (decision.outcome === "unsupported") return;
  setValidationStreak(tx, {
    agentId,
    jobType,
    consecutiveValid: decision.outcome === "invalid" ? 0 : decision.streakBefore + 1,
    now,
  });
}

// --- The ledger ----------------------------------------------------------------------------

/** A ledger row as the API returns it (the hashed fields, then `entry_hash`). */
export function toApiLedgerEntry(row: LedgerEntryRow): LedgerEntry {
  return {
    seq: row.seq,
    id: row.id,
    task_id: row.taskId,
    attempt: row.attempt,
    agent_id: row.agentId,
    job_type: row.jobType,
    outcome: row.outcome,
    units: row.units,
    rule: row.rule as LedgerEntry["rule"],
    basis: row.basis,
    explanation: row.explanation,
    validation: {
      method: row.validationMethod,
      checked_by: row.checkedBy ?? null,
      streak_before: row.streakBefore,
      check_probability: row.checkProbability,
      reason: row.validationReason,
    },
    signed: row.signed,
    key_id: row.keyId ?? null,
    input_sha256: row.inputSha256,
    output_sha256: row.outputSha256,
    leaf_index: row.leafIndex,
    created_at: row.createdAt,
    entry_hash: row.entryHash,
  };
}

/** SHA-256 of the canonical JSON of every field but `entry_hash`: the Merkle leaf's data. */
export function ledgerEntryHash(entry: Omit<LedgerEntry, "entry_hash"> & { entry_hash?: string }): string {
  const { entry_hash: _ignored, ...fields } = entry;
  return sha256Hex(canonicalJson(fields));
}

/**
 * Appends the result's ledger entry (and, for a signed result, its envelope) with a Merkle leaf,
 * inside the transaction that settles the result. Touches no in-memory state.
 */
export function recordContribution(
  tx: Executor,
  input: {
    row: TaskRow;
    agentId: string;
    body: DoneBody;
    verified: VerifiedResult;
    decision: ValidationDecision;
    now: number;
  },
): LedgerEntry {
  const { row, agentId, body, verified, decision, now } = input;
  if (verified.envelope && verified.keyId) {
    insertResultEnvelope(tx, {
      taskId: row.id,
      attempt: body.attempt,
      agentId,
      keyId: verified.keyId,
      envelope: JSON.stringify(verified.envelope),
      createdAt: now,
    });
  }
  const fields: Omit<LedgerEntry, "entry_hash"> = {
    seq: nextLedgerSeq(tx),
    id: newId("ledger"),
    task_id: row.id,
    attempt: body.attempt,
    agent_id: agentId,
    job_type: row.requiredCapability,
    outcome: decision.outcome,
    units: decision.credit.units,
    rule: decision.credit.rule,
    basis: decision.credit.basis,
    explanation: decision.credit.explanation,
    validation: {
      method: decision.method,
      checked_by: decision.checkedBy,
      streak_before: decision.streakBefore,
      check_probability: decision.checkProbability,
      reason: decision.reason,
    },
    signed: verified.signed,
    key_id: verified.keyId,
    input_sha256: sha256(row.prompt),
    output_sha256: sha256(body.output),
    leaf_index: merkleLogSize(tx),
    created_at: now,
  };
  const entryHash = ledgerEntryHash(fields);
  appendLedgerRecord(tx, {
    leafHash: hashLeaf(Buffer.from(entryHash, "hex")).toString("hex"),
    entry: {
      seq: fields.seq,
      id: fields.id,
      taskId: fields.task_id,
      attempt: fields.attempt,
      agentId,
      jobType: fields.job_type,
      outcome: fields.outcome,
      units: fields.units,
      rule: fields.rule,
      basis: fields.basis,
      explanation: fields.explanation,
      validationMethod: fields.validation.method,
      checkedBy: fields.validation.checked_by,
      streakBefore: fields.validation.streak_before,
      checkProbability: fields.validation.check_probability,
      validationReason: fields.validation.reason,
      signed: fields.signed,
      keyId: fields.key_id,
      inputSha256: fields.input_sha256,
      outputSha256: fields.output_sha256,
      leafIndex: fields.leaf_index,
      entryHash,
      createdAt: now,
    },
  });
  return { ...fields, entry_hash: entryHash };
}

/** `GET /api/ledger`: oldest first, keyset-paginated by `seq`. */
export function listLedger(ctx: HubContext, query: LedgerQuery): LedgerListResponse {
  let afterSeq: number | undefined;
  if (query.cursor !== undefined) {
    afterSeq = /^\d{1,15}$/.test(query.cursor) ? Number(query.cursor) : Number.NaN;
    if (!Number.isSafeInteger(afterSeq))
      throw new ValidationError("Invalid cursor", [
        { path: ["cursor"], code: "custom", message: "Invalid cursor" },
      ]);
  }
  const rows = listLedgerEntries(ctx.database.db, {
    ...(query.node ? { agentId: query.node } : {}),
    ...(query.since !== undefined ? { since: query.since } : {}),
    ...(afterSeq !== undefined ? { afterSeq } : {}),
    ...(query.tree_size !== undefined ? { belowLeaf: query.tree_size } : {}),
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    entries: page.map(toApiLedgerEntry),
    next_cursor: rows.length > query.limit && last ? String(last.seq) : null,
  };
}

/** `GET /api/ledger/summary`. */
export function ledgerSummary(ctx: HubContext): LedgerSummaryResponse {
  const db = ctx.database.db;
  const streaks = new Map<string, Record<string, number>>();
  for (const s of listValidationStreaks(db)) {
    const byJob = streaks.get(s.agentId) ?? {};
    byJob[s.jobType] = s.consecutiveValid;
    streaks.set(s.agentId, byJob);
  }
  let total = 0;
  let entries = 0;
  const nodes = ledgerTotalsByAgent(db).map((t) => {
    total += t.units;
    entries += t.entries;
    const own = streaks.get(t.agentId) ?? {};
    return {
      agent_id: t.agentId,
      units: t.units,
      validated: t.validated,
      invalid: t.invalid,
      unsupported: t.unsupported,
      streaks: own,
      streak: Math.max(0, ...Object.values(own)),
    };
  });
  return { nodes, total_units: total, entries };
}

/** `GET /api/tasks/:id/receipt`. 404 until a result was submitted for the task. */
export function taskReceipt(ctx: HubContext, taskId: string, treeSize?: number): Receipt {
  const db = ctx.database.db;
  const task = getTask(db, taskId);
  if (!task) throw new NotFoundError("task", taskId);
  const entries = listTaskLedgerEntries(db, taskId).filter(
    (e) => treeSize === undefined || e.leafIndex < treeSize,
  );
  if (entries.length === 0) throw new NotFoundError("receipt", taskId);
  const envelopes = new Map(
    listResultEnvelopes(db, taskId).map((e) => [
      e.attempt,
      SignedResultEnvelopeSchema.parse(JSON.parse(e.envelope)),
    ]),
  );
  return {
    v: 1,
    task_id: taskId,
    job_type: task.requiredCapability,
    input_sha256: sha256(task.prompt),
    results: entries.map((e) => ({
      attempt: e.attempt,
      agent_id: e.agentId,
      envelope: envelopes.get(e.attempt) ?? null,
      ledger_entry: toApiLedgerEntry(e),
      merkle: merkleInclusion(ctx, e.leafIndex, treeSize),
    })),
  };
}
