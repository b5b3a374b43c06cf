import {
  ConsolidateBodySchema,
  ConsolidateResponseSchema,
  CrossAgentSearchQuerySchema,
  DeleteMemoryResponseSchema,
  ListMemoryQuerySchema,
  ListMemoryResponseSchema,
  MEMORY_LIMITS,
  MemoryAgentParamSchema,
  MemoryHealthResponseSchema,
  MemoryKeyParamSchema,
  RecallBodySchema,
  RecallResponseSchema,
  SearchMemoryQuerySchema,
  SearchMemoryResponseSchema,
  StoreMemoryBodySchema,
  StoreMemoryResponseSchema,
} from "../memory";
import { defineRoute } from "../route";

/*
 * The memory API. The memory service serves all of these; the hub serves the `/api/*` ones under
 * its own auth and forwards them, with the caller's principal, to the memory service — so each
 * of those is one descriptor shared by both (`MEMORY_API_ROUTES`). 503 is the hub's answer when the
 * memory service is unreachable or not configured.
 */

const SCOPE =
  "An agent-scoped token reaches only its own agent's memories (403); `_mesh` (cross-agent patterns) is for admins.";

export const storeMemoryRoute = defineRoute({
  id: "memory.store",
  method: "POST",
  path: "/api/agents/:id/memory",
  permission: "memory:write",
  summary: "Upsert one memory of an agent",
  description: `201 when created, 200 when updated or unchanged. ${SCOPE} Values are encrypted at rest.`,
  tags: ["memory"],
  params: MemoryAgentParamSchema,
  body: StoreMemoryBodySchema,
  bodyLimitBytes: MEMORY_LIMITS.requestBodyBytes,
  responses: { 201: StoreMemoryResponseSchema, 200: StoreMemoryResponseSchema },
  errors: [503],
});

export const listMemoryRoute = defineRoute({
  id: "memory.list",
  method: "GET",
  path: "/api/agents/:id/memory",
  permission: "memory:read",
  summary: "An agent's memories, newest first",
  description: SCOPE,
  tags: ["memory"],
  params: MemoryAgentParamSchema,
  query: ListMemoryQuerySchema,
  responses: { 200: ListMemoryResponseSchema },
  errors: [503],
});

export const searchMemoryRoute = defineRoute({
  id: "memory.search",
  method: "GET",
  path: "/api/agents/:id/memory/search",
  permission: "memory:read",
  summary: "Ranked search (bm25 over a blind index) of an agent's memories",
  description: `${SCOPE} A query over 16 KiB is a 413.`,
  tags: ["memory"],
  params: MemoryAgentParamSchema,
  query: SearchMemoryQuerySchema,
  responses: { 200: SearchMemoryResponseSchema },
  errors: [413, 503],
});

export const deleteMemoryRoute = defineRoute({
  id: "memory.delete",
  method: "DELETE",
  path: "/api/agents/:id/memory/:key",
  permission: "memory:write",
  summary: "Delete one memory by key",
  description: `${SCOPE} A key over the key limit is a 413.`,
  tags: ["memory"],
  params: MemoryKeyParamSchema,
  responses: { 200: DeleteMemoryResponseSchema },
  errors: [404, 413, 503],
});

export const searchAllMemoryRoute = defineRoute({
  id: "memory.searchAll",
  method: "GET",
  path: "/api/memory/search",
  permission: "memory:read",
  summary: "Cross-agent memory search (admins)",
  description: "Admins only: unscoped principals holding `agents:admin` (403 otherwise).",
  tags: ["memory"],
  query: CrossAgentSearchQuerySchema,
  responses: { 200: SearchMemoryResponseSchema },
  errors: [413, 503],
});

export const consolidateMemoryRoute = defineRoute({
  id: "memory.consolidate",
  method: "POST",
  path: "/api/memory/consolidate",
  permission: "memory:write",
  summary: "Merge duplicates, resolve contradictions, find cross-agent patterns",
  description: "Every agent plus patterns needs an admin; one agent needs that agent or an admin (403).",
  tags: ["memory"],
  body: ConsolidateBodySchema,
  bodyLimitBytes: 4 * 1024,
  responses: { 200: ConsolidateResponseSchema },
  errors: [503],
});

export const recallMemoryRoute = defineRoute({
  id: "memory.recall",
  method: "POST",
  path: "/internal/recall",
  permission: "service",
  summary: "The pickup-time memory block for a task (the hub only)",
  description: "Service token only; not served by the hub.",
  tags: ["memory-service"],
  body: RecallBodySchema,
  bodyLimitBytes: 512 * 1024,
  responses: { 200: RecallResponseSchema },
});

export const memoryHealthRoute = defineRoute({
  id: "memory.health",
  method: "GET",
  path: "/health",
  permission: "public",
  summary: "Memory service liveness",
  tags: ["memory-service"],
  responses: { 200: MemoryHealthResponseSchema },
});

/** The memory routes the hub also serves (forwarding them to the memory service). */
export const MEMORY_API_ROUTES = [
  storeMemoryRoute,
  listMemoryRoute,
  searchMemoryRoute,
  deleteMemoryRoute,
  searchAllMemoryRoute,
  consolidateMemoryRoute,
] as const;

/** Every route the memory service serves. */
export const MEMORY_ROUTES = [...MEMORY_API_ROUTES, recallMemoryRoute, memoryHealthRoute] as const;
