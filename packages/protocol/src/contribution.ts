import { z } from "zod";
import { AgentIdSchema, CapabilitySchema, EpochMsSchema, Sha256HexSchema, TaskIdSchema } from "./ids";
import { LIMITS } from "./limits";
import { CursorSchema, ListLimitSchema } from "./pagination";
import { MerkleInclusionSchema } from "./provenance";

/**
 * Verifiable contribution: node keys, signed result envelopes, validation decisions, the credit
 * ledger and receipts. See docs/contribution.md.
 */

/** A node's raw Ed25519 public key, base64url (32 bytes → 43 characters). */
export const NodePublicKeySchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, "Expected a raw Ed25519 public key, base64url (43 characters)");

/** `nk_` + 24 hex digits of SHA-256(raw public key). */
export const NodeKeyIdSchema = z.string().regex(/^nk_[0-9a-f]{24}$/, "Expected a node key id nk_<24 hex>");

export const NODE_KEY_STATUSES = [
  "pending", // bound at registration, waiting for an admin's approval (only when approval is required)
  "active", // results must be signed with it
  "revoked", // refused from now on (revoked or rotated out)
] as const;
export const NodeKeyStatusSchema = z.enum(NODE_KEY_STATUSES);
export type NodeKeyStatus = z.infer<typeof NodeKeyStatusSchema>;

/** A node key as the hub keeps it. Public material only. */
export const NodeKeySchema = z.object({
  key_id: NodeKeyIdSchema,
  agent_id: AgentIdSchema,
  public_key: NodePublicKeySchema,
  status: NodeKeyStatusSchema,
  created_at: EpochMsSchema,
  approved_at: EpochMsSchema.nullable(),
  revoked_at: EpochMsSchema.nullable(),
  revoked_reason: z.string().nullable(),
});
export type NodeKey = z.infer<typeof NodeKeySchema>;

/**
 * What a worker signs for each result: `signature` = Ed25519 over the canonical JSON (keys sorted,
 * no whitespace; `@m3shd/crypto` `canonicalJson`) of every other field. The hub checks each field
 * against the completion it arrives with, then the signature against the agent's active key.
 */
export const ResultEnvelopeSchema = z.strictObject({
  v: z.literal(1),
  task_id: TaskIdSchema,
  attempt: z.int().min(1),
  agent_id: AgentIdSchema,
  key_id: NodeKeyIdSchema,
  /** SHA-256 (hex) of the task's submitted `prompt` (UTF-8), exactly as the task view returns it. */
  input_sha256: Sha256HexSchema,
  /** SHA-256 (hex) of the output (UTF-8). */
  output_sha256: Sha256HexSchema,
  /** The completion's `model`, or null when it names none. */
  model: z.string().max(LIMITS.nameChars).nullable(),
  /** The completion's `usage`, or null when it reports none. */
  usage: z
    .strictObject({
      input_tokens: z.int().min(0),
      output_tokens: z.int().min(0),
      cached_input_tokens: z.int().min(0).optional(),
    })
    .nullable(),
  /** Worker clock, epoch ms. */
  started_at: EpochMsSchema,
  finished_at: EpochMsSchema,
});
export type ResultEnvelope = z.infer<typeof ResultEnvelopeSchema>;

export const SignedResultEnvelopeSchema = ResultEnvelopeSchema.extend({
  /** Ed25519 signature, base64url (64 bytes → 86 characters). */
  signature: z
    .string()
    .regex(/^[A-Za-z0-9_-]{86}$/, "Expected an Ed25519 signature, base64url (86 characters)"),
});
export type SignedResultEnvelope = z.infer<typeof SignedResultEnvelopeSchema>;

/** The outcome of validating one result. */
export const LEDGER_OUTCOMES = [
  "valid", // recomputed by the validator: byte-identical
  "trusted", // the node is past probation and this result was not sampled for a check (adaptive replication)
  "invalid", // recomputed and different: 0 units, the job re-runs on another node
  "unsupported", // cannot be checked by recomputation (model output, or a prompt the hub cannot rebuild): 0 units
] as const;
export const LedgerOutcomeSchema = z.enum(LEDGER_OUTCOMES);
export type LedgerOutcome = z.infer<typeof LedgerOutcomeSchema>;

export const VALIDATION_METHODS = ["recompute", "adaptive_trust", "none"] as const;
export const ValidationMethodSchema = z.enum(VALIDATION_METHODS);
export type ValidationMethod = z.infer<typeof ValidationMethodSchema>;

/** Credit rules (`@m3shd/jobs` `CREDIT_RULE_IDS`). */
export const CreditRuleSchema = z.enum([
  "echo.v1",
  "text_stats.v1",
  "keyword_extract.v1",
  "text_chunk.v1",
  "text_embed.v1",
  "model.v1",
]);

/**
 * One ledger entry: one result of one attempt, with how it was validated and what it earned.
 * Append-only; `entry_hash` = SHA-256 of the canonical JSON of every other field, and the entry
 * is leaf `leaf_index` of the Merkle log (leaf data = the 32 bytes of `entry_hash`).
 */
export const LedgerEntrySchema = z.object({
  /** Position in the ledger, from 0. */
  seq: z.int().min(0),
  id: z.string(),
  task_id: TaskIdSchema,
  attempt: z.int().min(1),
  agent_id: AgentIdSchema,
  /** The task's capability (the job type for deterministic jobs). */
  job_type: CapabilitySchema,
  outcome: LedgerOutcomeSchema,
  /** Integer credit; 0 unless the outcome is `valid` or `trusted`. */
  units: z.int().min(0),
  rule: CreditRuleSchema,
  /** The measured facts the rule reads (`unitsFromBasis(rule, basis)` gives the units back). */
  basis: z.record(z.string(), z.union([z.number(), z.string()])),
  /** How the units were computed, in words and numbers. */
  explanation: z.string(),
  validation: z.object({
    method: ValidationMethodSchema,
    /** Who checked: `hub-validator`, or null when nobody did. */
    checked_by: z.string().nullable(),
    /** The node's consecutive valid results for this job type before this result. */
    streak_before: z.int().min(0),
    /** Probability this result was checked with (1 during probation). */
    check_probability: z.number().min(0).max(1),
    /** Why, in words (e.g. `probation 3/10`, `output differs from recomputation`). */
    reason: z.string(),
  }),
  /** Whether the result came with a valid node signature; false = accepted `unsigned`. */
  signed: z.boolean(),
  key_id: NodeKeyIdSchema.nullable(),
  input_sha256: Sha256HexSchema,
  output_sha256: Sha256HexSchema,
  leaf_index: z.int().min(0),
  created_at: EpochMsSchema,
  entry_hash: Sha256HexSchema,
});
export type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

/** `GET /api/ledger` query. */
export const LedgerQuerySchema = z.strictObject({
  /** Only this node's (agent's) entries. */
  node: AgentIdSchema.optional(),
  /** Only entries created at or after this epoch ms. */
  since: z.coerce.number<string>().int().min(0).optional(),
  /** Only entries with a `seq` greater than this (the previous page's `next_cursor`). */
  cursor: CursorSchema.optional(),
  /** Stop at this Merkle tree size: only entries whose leaf is below it (an export's checkpoint). */
  tree_size: z.coerce.number<string>().int().min(0).optional(),
  limit: ListLimitSchema,
});
export type LedgerQuery = z.output<typeof LedgerQuerySchema>;

/** `GET /api/ledger` response: oldest first. */
export const LedgerListResponseSchema = z.object({
  entries: z.array(LedgerEntrySchema),
  next_cursor: CursorSchema.nullable(),
});
export type LedgerListResponse = z.infer<typeof LedgerListResponseSchema>;

/** One node in `GET /api/ledger/summary`. */
export const LedgerNodeSummarySchema = z.object({
  agent_id: AgentIdSchema,
  units: z.int().min(0),
  /** Results credited (`valid` + `trusted`). */
  validated: z.int().min(0),
  invalid: z.int().min(0),
  unsupported: z.int().min(0),
  /** Consecutive valid results per job type (adaptive replication's `n`). */
  streaks: z.record(z.string(), z.int().min(0)),
  /** The longest of `streaks` (0 without any). */
  streak: z.int().min(0),
});
export type LedgerNodeSummary = z.infer<typeof LedgerNodeSummarySchema>;

export const LedgerSummaryResponseSchema = z.object({
  nodes: z.array(LedgerNodeSummarySchema),
  total_units: z.int().min(0),
  entries: z.int().min(0),
});
export type LedgerSummaryResponse = z.infer<typeof LedgerSummaryResponseSchema>;

/** One result of a task in its receipt: the signed envelope, the ledger entry, its inclusion proof. */
export const ReceiptResultSchema = z.object({
  attempt: z.int().min(1),
  agent_id: AgentIdSchema,
  /** The node's signed envelope; null for a result accepted unsigned. */
  envelope: SignedResultEnvelopeSchema.nullable(),
  ledger_entry: LedgerEntrySchema,
  /** The ledger entry's leaf in the Merkle log, proved against `tree_size`. */
  merkle: MerkleInclusionSchema,
});
export type ReceiptResult = z.infer<typeof ReceiptResultSchema>;

/**
 * `GET /api/tasks/:id/receipt`: everything needed to check a task's contribution offline —
 * every result submitted for it (which attempt, which node), its signed envelope, the validation
 * decision and credit (the ledger entry) and the entry's Merkle inclusion proof.
 */
export const ReceiptSchema = z.object({
  v: z.literal(1),
  task_id: TaskIdSchema,
  job_type: CapabilitySchema,
  input_sha256: Sha256HexSchema,
  results: z.array(ReceiptResultSchema),
});
export type Receipt = z.infer<typeof ReceiptSchema>;

export const ReceiptQuerySchema = z.strictObject({
  /** Prove inclusion against this tree size (default: the log's current size). */
  tree_size: z.coerce.number<string>().int().min(1).optional(),
});
export type ReceiptQuery = z.output<typeof ReceiptQuerySchema>;

/** `GET /api/agents/:id/keys`. */
export const NodeKeyListResponseSchema = z.object({ keys: z.array(NodeKeySchema) });
export type NodeKeyListResponse = z.infer<typeof NodeKeyListResponseSchema>;

/** `POST /api/agents/:id/keys`: an admin binds a new key (rotation); the active one is revoked. */
export const RotateNodeKeyBodySchema = z.strictObject({ public_key: NodePublicKeySchema });
export type RotateNodeKeyBody = z.infer<typeof RotateNodeKeyBodySchema>;

export const RevokeNodeKeyBodySchema = z.strictObject({
  reason: z.string().trim().min(1).max(500).optional(),
});
export type RevokeNodeKeyBody = z.infer<typeof RevokeNodeKeyBodySchema>;

export const NodeKeyResponseSchema = z.object({ key: NodeKeySchema });
export type NodeKeyResponse = z.infer<typeof NodeKeyResponseSchema>;

/** What `PUT /api/tasks/:id` tells the node about its `done` result. */
export const CompletionContributionSchema = z.object({
  outcome: LedgerOutcomeSchema,
  units: z.int().min(0),
  ledger_id: z.string(),
});
export type CompletionContribution = z.infer<typeof CompletionContributionSchema>;
