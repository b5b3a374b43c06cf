import {
  deleteMemoryRoute,
  ForbiddenError,
  LimitExceededError,
  listMemoryRoute,
  NotFoundError,
  searchMemoryRoute,
  storeMemoryRoute,
  utf8ByteLength,
} from "@m3shd/protocol";
import type { MemoryApp, MemoryAppDeps } from "../app";
import { PATTERN_SCOPE } from "../consolidate";
import { assertAgentAccess, principalOf } from "../http/auth";
import { serve } from "../http/define";
import { MEMORY_LIMITS } from "../limits";
import { toWireEntry } from "./wire";

/** The per-agent memory routes: upsert, list, search, delete. */
export function registerAgentMemoryRoutes(app: MemoryApp, { service, serviceToken }: MemoryAppDeps): void {
  // POST /api/agents/:id/memory — upsert one memory (201 created, 200 updated/unchanged).
  serve(app, storeMemoryRoute, serviceToken, (c, { params, body }) => {
    const { id } = params;
    if (id === PATTERN_SCOPE)
      throw new ForbiddenError("Cross-agent patterns are written by consolidation only");
    assertAgentAccess(principalOf(c), id);
    const result = service.store({
      agentId: id,
      key: body.key,
      value: body.value,
      tags: body.tags,
      confidence: body.confidence,
      sourceTaskId: body.source_task_id,
    });
    const response = { entry: toWireEntry(result.entry), status: result.status };
    return result.status === "created" ? { status: 201, body: response } : { status: 200, body: response };
  });

  // GET /api/agents/:id/memory — newest first, filters by tag and time, cursor pagination.
  serve(app, listMemoryRoute, serviceToken, (c, { params, query }) => {
    assertAgentAccess(principalOf(c), params.id);
    const page = service.list({ agentId: params.id, ...query });
    return {
      status: 200,
      body: { entries: page.entries.map(toWireEntry), next_cursor: page.nextCursor },
    };
  });

  // GET /api/agents/:id/memory/search?q= — bm25 over the agent's blind index.
  serve(app, searchMemoryRoute, serviceToken, (c, { params, query }) => {
    assertAgentAccess(principalOf(c), params.id);
    const bytes = utf8ByteLength(query.q);
    if (bytes > MEMORY_LIMITS.queryBytes) throw new LimitExceededError("q", MEMORY_LIMITS.queryBytes, bytes);
    const result = service.search({
      agentIds: [params.id],
      query: query.q,
      tag: query.tag,
      since: query.since,
      until: query.until,
      limit: query.limit,
    });
    return {
      status: 200,
      body: {
        results: result.results.map((r) => ({ entry: toWireEntry(r.entry), score: r.score })),
        terms: result.terms,
        strategy: result.strategy,
      },
    };
  });

  // DELETE /api/agents/:id/memory/:key — 404 when there is no such key.
  serve(app, deleteMemoryRoute, serviceToken, (c, { params }) => {
    const { id, key } = params;
    if (id === PATTERN_SCOPE)
      throw new ForbiddenError("Cross-agent patterns are managed by consolidation only");
    assertAgentAccess(principalOf(c), id);
    if (!service.delete(id, key)) throw new NotFoundError("memory", key);
    return { status: 200, body: { deleted: true as const, key } };
  });
}
