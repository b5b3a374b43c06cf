import { z } from "zod";
import { AgentIdSchema, TaskIdSchema } from "./ids";

/*
 * Wire schemas of the memory API (the memory service, and the hub's proxy of it), snake_case like
 * every body of the mesh. They check shapes; the memory service checks limits so that in-process
 * and HTTP callers get the same errors.
 */

/**
 * Input limits of the memory service, in one place (documented in docs/memory.md). Byte limits are
 * UTF-8 bytes; `*Chars` limits count UTF-16 code units like `z.string().max()`.
 */
export const MEMORY_LIMITS = {
  /** A memory key (`deploy target`, `user.timezone`). Keys are short labels, not documents. */
  keyChars: 200,
  /** A memory value. Memories are facts, not transcripts; 16 KiB is a long page of text. */
  valueBytes: 16 * 1024,
  /** Tags on one entry. */
  tagsMax: 16,
  /** One tag. */
  tagChars: 64,
  /** A search query string as received. Longer strings are refused at the edge (413). */
  queryBytes: 16 * 1024,
  /** Distinct terms kept from a search query (the rest are ignored). */
  queryTermsMax: 32,
  /** Text scanned for recall terms (a task prompt is ≤ 8 KiB; parents can add more). */
  recallTextChars: 64 * 1024,
  /** Distinct terms kept from a recall text. */
  recallTermsMax: 64,
  /** Upper bound of `topK` for recall. */
  recallTopKMax: 50,
  /** Default top-K for recall. */
  recallTopKDefault: 5,
  /** Upper bound of the recall character budget. */
  recallCharBudgetMax: 32 * 1024,
  /** Default recall character budget (≈ 500 tokens). */
  recallCharBudgetDefault: 2000,
  /** Upper bound of `limit` on list and search. */
  listLimitMax: 500,
  /** Default `limit` on list and search. */
  listLimitDefault: 50,
  /** `[REMEMBER]` blocks stored from one task output; further blocks are counted as skipped. */
  extractBlocksMax: 100,
  /** Raw request body ceiling (a 16 KiB value can grow up to 6× with JSON escapes). */
  requestBodyBytes: 128 * 1024,
  /** Agents named in one cross-agent search. */
  searchAgentsMax: 1000,
} as const;

/**
 * The scope holding cross-agent patterns. Not a valid agent id (agent ids are `[a-z0-9-]`), so no
 * agent can ever be it, and no agent-scoped token can reach it.
 */
export const MEMORY_PATTERN_SCOPE = "_mesh";

/** One memory on the wire. */
export const MemoryEntrySchema = z.object({
  id: z.string(),
  /** The agent it belongs to, or `_mesh` for a cross-agent pattern. */
  agent_id: z.string(),
  key: z.string(),
  value: z.string(),
  tags: z.array(z.string()),
  /** 0…1: how sure the writer was. */
  confidence: z.number(),
  /** The task whose output this came from. */
  source_task_id: z.string().nullable(),
  created_at: z.int(),
  updated_at: z.int(),
});
export type MemoryEntryWire = z.infer<typeof MemoryEntrySchema>;

/** `:id` in `/api/agents/:id/memory…`: an agent id, or the pattern scope (admins, read-only). */
export const MemoryAgentParamSchema = z.object({
  id: z.union([AgentIdSchema, z.literal(MEMORY_PATTERN_SCOPE)]),
});

/** `/api/agents/:id/memory/:key`. */
export const MemoryKeyParamSchema = MemoryAgentParamSchema.extend({
  key: z
    .string()
    .min(1)
    .max(MEMORY_LIMITS.keyChars * 4),
});

export const StoreMemoryBodySchema = z.strictObject({
  key: z.string(),
  value: z.string(),
  tags: z
    .array(z.string())
    .max(MEMORY_LIMITS.tagsMax * 4)
    .optional(),
  confidence: z.number().min(0).max(1).optional(),
  source_task_id: TaskIdSchema.nullable().optional(),
});
export type StoreMemoryBody = z.infer<typeof StoreMemoryBodySchema>;

/** `POST /api/agents/:id/memory`: 201 when created, 200 when updated or unchanged. */
export const StoreMemoryResponseSchema = z.object({
  entry: MemoryEntrySchema,
  status: z.enum(["created", "updated", "unchanged"]),
});
export type StoreMemoryResponse = z.infer<typeof StoreMemoryResponseSchema>;

const epochMs = z.coerce.number<string | number>().int().min(0).max(8_640_000_000_000_000);
const limit = z.coerce.number<string | number>().int().min(1).max(MEMORY_LIMITS.listLimitMax);

export const ListMemoryQuerySchema = z.object({
  tag: z
    .string()
    .max(MEMORY_LIMITS.tagChars * 4)
    .optional(),
  since: epochMs.optional(),
  until: epochMs.optional(),
  limit: limit.default(MEMORY_LIMITS.listLimitDefault),
  cursor: z.string().max(256).optional(),
});

export const ListMemoryResponseSchema = z.object({
  entries: z.array(MemoryEntrySchema),
  next_cursor: z.string().nullable(),
});
export type ListMemoryResponse = z.infer<typeof ListMemoryResponseSchema>;

export const SearchMemoryQuerySchema = z.object({
  /** Free text; reduced to safe terms server-side. Over 16 KiB → 413. */
  q: z.string(),
  tag: z
    .string()
    .max(MEMORY_LIMITS.tagChars * 4)
    .optional(),
  since: epochMs.optional(),
  until: epochMs.optional(),
  limit: limit.default(MEMORY_LIMITS.listLimitDefault),
});

/** Cross-agent search (admin): `agents` is a comma-separated list; omitted = every agent. */
export const CrossAgentSearchQuerySchema = SearchMemoryQuerySchema.extend({
  agents: z
    .string()
    .max(70 * MEMORY_LIMITS.searchAgentsMax)
    .optional()
    .describe("Comma-separated agent ids (or `_mesh`); omitted: every agent"),
});

export const SearchMemoryResponseSchema = z.object({
  results: z.array(z.object({ entry: MemoryEntrySchema, score: z.number() })),
  /** Safe terms the query was reduced to (0: nothing searchable, empty results). */
  terms: z.int(),
  /** How it was answered: every term ranked, only the rarer terms for candidates (then all), or nothing to search. */
  strategy: z.enum(["bm25", "bm25_bounded", "none"]),
});
export type SearchMemoryResponse = z.infer<typeof SearchMemoryResponseSchema>;

export const DeleteMemoryResponseSchema = z.object({ deleted: z.literal(true), key: z.string() });
export type DeleteMemoryResponse = z.infer<typeof DeleteMemoryResponseSchema>;

export const ConsolidateBodySchema = z.strictObject({
  /** One agent only; omitted = every agent plus cross-agent patterns (admin). */
  agent_id: AgentIdSchema.optional(),
});

export const ConsolidateResponseSchema = z.object({
  /** The consolidation run's id; null when another run was already in progress. */
  run_id: z.string().nullable(),
  /** Agents whose memories were examined. */
  agents: z.int(),
  /** Duplicate entries merged. */
  duplicates: z.int(),
  /** Contradicting entries resolved. */
  contradictions: z.int(),
  /** Cross-agent patterns written to `_mesh`. */
  patterns: z.int(),
  /** Whether anything was written. */
  changed: z.boolean(),
});
export type ConsolidateResponse = z.infer<typeof ConsolidateResponseSchema>;

export const RecallBodySchema = z.strictObject({
  agent_id: AgentIdSchema,
  /** The task text memories are recalled for. */
  text: z.string().max(MEMORY_LIMITS.recallTextChars * 4),
  top_k: z.int().min(1).max(MEMORY_LIMITS.recallTopKMax).optional(),
  /** Upper bound of the block's length in characters. */
  char_budget: z.int().min(0).max(MEMORY_LIMITS.recallCharBudgetMax).optional(),
});
export type RecallBody = z.infer<typeof RecallBodySchema>;

export const RecallResponseSchema = z.object({
  /** The memory block to put before the task prompt (empty when nothing was recalled). */
  block: z.string(),
  chars: z.int(),
  count: z.int(),
  keys: z.array(z.string()),
  entry_ids: z.array(z.string()),
});
export type RecallResponse = z.infer<typeof RecallResponseSchema>;

/** `GET /health` of the memory service: liveness only, nothing about contents. */
export const MemoryHealthResponseSchema = z.object({ status: z.literal("ok") });

/**
 * The caller's identity as the hub resolved it, in the `X-M3shd-Principal` header (base64url JSON).
 * Trusted only on requests that also carry the service token.
 */
export const MemoryPrincipalWireSchema = z.object({
  subject: z.string().min(1).max(200),
  permissions: z.array(z.string().max(64)).max(64),
  /** The agent a token is scoped to; null for principals that may act for any agent. */
  agent_id: AgentIdSchema.nullable(),
});
