import { AgentIdSchema, TaskIdSchema } from "@m3shd/protocol";
import { z } from "zod";
import { PATTERN_SCOPE } from "./consolidate";
import { MEMORY_LIMITS } from "./limits";

/*
 * Wire schemas of the memory API (snake_case, like every body of the mesh). They check shapes;
 * the service checks limits so that in-process and HTTP callers get the same errors. They belong in
 * @m3shd/protocol once the hub proxies these routes (see docs/memory.md, "Integration").
 */

/** One memory on the wire. */
export const MemoryEntrySchema = z.object({
  id: z.string(),
  agent_id: z.string(),
  key: z.string(),
  value: z.string(),
  tags: z.array(z.string()),
  /** 0…1. */
  confidence: z.number(),
  /** The task whose output this came from. */
  source_task_id: z.string().nullable(),
  created_at: z.int(),
  updated_at: z.int(),
});
export type MemoryEntryWire = z.infer<typeof MemoryEntrySchema>;

/** `:id` in `/api/agents/:id/memory…`: an agent id, or the pattern scope (admins, read-only). */
export const MemoryAgentParamSchema = z.object({
  id: z.union([AgentIdSchema, z.literal(PATTERN_SCOPE)]),
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

export const StoreMemoryResponseSchema = z.object({
  entry: MemoryEntrySchema,
  status: z.enum(["created", "updated", "unchanged"]),
});

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
    .optional(),
});

export const SearchMemoryResponseSchema = z.object({
  results: z.array(z.object({ entry: MemoryEntrySchema, score: z.number() })),
  /** Safe terms the query was reduced to (0: nothing searchable, empty results). */
  terms: z.int(),
  /** How it was answered: every term ranked, only the rarer terms for candidates (then all), or nothing to search. */
  strategy: z.enum(["bm25", "bm25_bounded", "none"]),
});

export const DeleteMemoryResponseSchema = z.object({ deleted: z.literal(true), key: z.string() });

export const ConsolidateBodySchema = z.strictObject({
  /** One agent only; omitted = every agent plus cross-agent patterns (admin). */
  agent_id: AgentIdSchema.optional(),
});

export const ConsolidateResponseSchema = z.object({
  run_id: z.string().nullable(),
  agents: z.int(),
  duplicates: z.int(),
  contradictions: z.int(),
  patterns: z.int(),
  changed: z.boolean(),
});

export const RecallBodySchema = z.strictObject({
  agent_id: AgentIdSchema,
  text: z.string().max(MEMORY_LIMITS.recallTextChars * 4),
  top_k: z.int().min(1).max(MEMORY_LIMITS.recallTopKMax).optional(),
  char_budget: z.int().min(0).max(MEMORY_LIMITS.recallCharBudgetMax).optional(),
});
export type RecallBody = z.infer<typeof RecallBodySchema>;

export const RecallResponseSchema = z.object({
  block: z.string(),
  chars: z.int(),
  count: z.int(),
  keys: z.array(z.string()),
  entry_ids: z.array(z.string()),
});

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
