import { ForbiddenError, LimitExceededError, NotFoundError, utf8ByteLength } from "@m3shd/protocol";
import { jsonBody, pathParams, queryParams } from "@m3shd/service-kit";
import { z } from "zod";
import type { MemoryApp, MemoryAppDeps } from "../app";
import { PATTERN_SCOPE } from "../consolidate";
import { assertAgentAccess, authorize, principalOf } from "../http/auth";
import { MEMORY_LIMITS } from "../limits";
import {
  type DeleteMemoryResponseSchema,
  ListMemoryQuerySchema,
  type ListMemoryResponseSchema,
  MemoryAgentParamSchema,
  SearchMemoryQuerySchema,
  type SearchMemoryResponseSchema,
  StoreMemoryBodySchema,
  type StoreMemoryResponseSchema,
} from "../schemas";
import { toWireEntry } from "./wire";

const KeyParamSchema = MemoryAgentParamSchema.extend({
  key: z
    .string()
    .min(1)
    .max(MEMORY_LIMITS.keyChars * 4),
});

/** The per-agent memory routes: upsert, list, search, delete. */
export function registerAgentMemoryRoutes(app: MemoryApp, { service, serviceToken }: MemoryAppDeps): void {
  // POST /api/agents/:id/memory — upsert one memory (201 created, 200 updated/unchanged).
  app.post(
    "/api/agents/:id/memory",
    authorize("memory:write", serviceToken),
    pathParams(MemoryAgentParamSchema),
    ...jsonBody(StoreMemoryBodySchema, MEMORY_LIMITS.requestBodyBytes),
    (c) => {
      const { id } = c.req.valid("param");
      if (id === PATTERN_SCOPE)
        throw new ForbiddenError("Cross-agent patterns are written by consolidation only");
      assertAgentAccess(principalOf(c), id);
      const body = c.req.valid("json");
      const result = service.store({
        agentId: id,
        key: body.key,
        value: body.value,
        tags: body.tags,
        confidence: body.confidence,
        sourceTaskId: body.source_task_id,
      });
      const response: z.infer<typeof StoreMemoryResponseSchema> = {
        entry: toWireEntry(result.entry),
        status: result.status,
      };
      return c.json(response, result.status === "created" ? 201 : 200);
    },
  );

  // GET /api/agents/:id/memory — newest first, filters by tag and time, cursor pagination.
  app.get(
    "/api/agents/:id/memory",
    authorize("memory:read", serviceToken),
    pathParams(MemoryAgentParamSchema),
    queryParams(ListMemoryQuerySchema),
    (c) => {
      const { id } = c.req.valid("param");
      assertAgentAccess(principalOf(c), id);
      const query = c.req.valid("query");
      const page = service.list({ agentId: id, ...query });
      const response: z.infer<typeof ListMemoryResponseSchema> = {
        entries: page.entries.map(toWireEntry),
        next_cursor: page.nextCursor,
      };
      return c.json(response);
    },
  );

  // GET /api/agents/:id/memory/search?q= — bm25 over the agent's blind index.
  app.get(
    "/api/agents/:id/memory/search",
    authorize("memory:read", serviceToken),
    pathParams(MemoryAgentParamSchema),
    queryParams(SearchMemoryQuerySchema),
    (c) => {
      const { id } = c.req.valid("param");
      assertAgentAccess(principalOf(c), id);
      const query = c.req.valid("query");
      const bytes = utf8ByteLength(query.q);
      if (bytes > MEMORY_LIMITS.queryBytes)
        throw new LimitExceededError("q", MEMORY_LIMITS.queryBytes, bytes);
      const result = service.search({
        agentIds: [id],
        query: query.q,
        tag: query.tag,
        since: query.since,
        until: query.until,
        limit: query.limit,
      });
      const response: z.infer<typeof SearchMemoryResponseSchema> = {
        results: result.results.map((r) => ({ entry: toWireEntry(r.entry), score: r.score })),
        terms: result.terms,
        strategy: result.strategy,
      };
      return c.json(response);
    },
  );

  // DELETE /api/agents/:id/memory/:key — 404 when there is no such key.
  app.delete(
    "/api/agents/:id/memory/:key",
    authorize("memory:write", serviceToken),
    pathParams(KeyParamSchema),
    (c) => {
      const { id, key } = c.req.valid("param");
      if (id === PATTERN_SCOPE)
        throw new ForbiddenError("Cross-agent patterns are managed by consolidation only");
      assertAgentAccess(principalOf(c), id);
      if (!service.delete(id, key)) throw new NotFoundError("memory", key);
      const response: z.infer<typeof DeleteMemoryResponseSchema> = { deleted: true, key };
      return c.json(response);
    },
  );
}
