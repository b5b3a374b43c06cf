import { z } from "zod";
import { AgentIdSchema, EpochMsSchema, Sha256HexSchema, TaskIdSchema } from "./ids";

/**
 * One link of the provenance chain: `hash = HMAC-SHA256(prev_hash ‖ timestamp ‖ agent_id ‖ task_id ‖
 * output_sha256)`; the first link's `prev_hash` is 64 zeros. The exact MAC input encoding (length
 * prefixes, `timestamp` as decimal digits of epoch ms) is `@m3shd/crypto`'s; this is its
 * `ProvenanceLink` in snake_case (`outputHash` → `output_sha256`) plus the link's position.
 */
export const ProvenanceLinkSchema = z.object({
  /** Position of the link in its chain, from 0. */
  index: z.int().min(0),
  task_id: TaskIdSchema,
  agent_id: AgentIdSchema,
  timestamp: EpochMsSchema,
  /** SHA-256 (hex) of the task's UTF-8 output. */
  output_sha256: Sha256HexSchema,
  prev_hash: Sha256HexSchema,
  hash: Sha256HexSchema,
});
export type ProvenanceLink = z.infer<typeof ProvenanceLinkSchema>;

/**
 * Result of verifying a chain. A verifier returns this rather than throwing: `index` is the first
 * broken link (position in `chain`), `reason` says what did not match.
 */
export const ChainVerdictSchema = z.object({
  ok: z.boolean(),
  /** Links verified (on success). */
  length: z.int().min(0).optional(),
  index: z.int().min(0).optional(),
  reason: z.string().optional(),
});
export type ChainVerdict = z.infer<typeof ChainVerdictSchema>;

/** RFC 6962 inclusion proof of one result in the Merkle log. */
export const MerkleInclusionSchema = z.object({
  leaf_index: z.int().min(0),
  /** RFC 6962 leaf hash, SHA-256(0x00 ‖ leaf), hex. */
  leaf_hash: Sha256HexSchema.optional(),
  tree_size: z.int().min(1),
  root: Sha256HexSchema,
  /** Audit path, leaf to root. */
  proof: z.array(Sha256HexSchema),
});
export type MerkleInclusion = z.infer<typeof MerkleInclusionSchema>;

/** `GET /api/tasks/:id/provenance`: the chain of the task's pipeline, its verdict and the inclusion proof. */
export const ProvenanceResponseSchema = z.object({
  task_id: TaskIdSchema,
  /** The chain the task's result was signed into: its pipeline's id (a lone task's own id). */
  chain_id: z.string().optional(),
  /** Links for every completed task of the pipeline, in chain order. */
  chain: z.array(ProvenanceLinkSchema),
  verdict: ChainVerdictSchema,
  merkle: MerkleInclusionSchema,
});
export type ProvenanceResponse = z.infer<typeof ProvenanceResponseSchema>;

/** `GET /api/provenance/root`. For `size` 0 the root is SHA-256 of the empty string (RFC 6962). */
export const MerkleRootResponseSchema = z.object({
  size: z.int().min(0),
  root: Sha256HexSchema,
});
export type MerkleRootResponse = z.infer<typeof MerkleRootResponseSchema>;

/** `GET /api/provenance/consistency?from=&to=` query: `1 ≤ from ≤ to`, both coerced from strings. */
export const ConsistencyQuerySchema = z
  .strictObject({
    from: z.coerce.number<string | number>().int().min(1),
    to: z.coerce.number<string | number>().int().min(1),
  })
  .refine((q) => q.from <= q.to, { message: "from must not exceed to", path: ["from"] });
export type ConsistencyQuery = z.output<typeof ConsistencyQuerySchema>;

/** `GET /api/provenance/consistency` response (RFC 6962 consistency proof). */
export const ConsistencyResponseSchema = z.object({
  from: z.int().min(0),
  to: z.int().min(0),
  root_from: Sha256HexSchema,
  root_to: Sha256HexSchema,
  proof: z.array(Sha256HexSchema),
});
export type ConsistencyResponse = z.infer<typeof ConsistencyResponseSchema>;
