import {
  consolidateMemoryRoute,
  ForbiddenError,
  LimitExceededError,
  searchAllMemoryRoute,
  utf8ByteLength,
  ValidationError,
} from "@m3shd/protocol";
import type { MemoryApp, MemoryAppDeps } from "../app";
import { PATTERN_SCOPE } from "../consolidate";
import { isAdmin, principalOf } from "../http/auth";
import { serve } from "../http/define";
import { MEMORY_LIMITS } from "../limits";
import { toWireEntry } from "./wire";

const AGENT_LIST_ITEM = /^([a-z0-9-]{1,64}|_mesh)$/;

/** Mesh-wide memory routes: consolidation and cross-agent search. */
export function registerMemoryAdminRoutes(app: MemoryApp, { service, serviceToken }: MemoryAppDeps): void {
  // POST /api/memory/consolidate — every agent + patterns (admin), or one agent (that agent or admin).
  serve(app, consolidateMemoryRoute, serviceToken, async (c, { body }) => {
    const principal = principalOf(c);
    const ownAgent = body.agent_id !== undefined && principal.agentId === body.agent_id;
    if (!isAdmin(principal) && !ownAgent) {
      throw new ForbiddenError(
        body.agent_id === undefined
          ? "Consolidating every agent needs an admin"
          : `This token reaches only the memories of agent ${principal.agentId ?? "(none)"}`,
      );
    }
    const result = await service.consolidate({ agentId: body.agent_id });
    const response = {
      run_id: result.runId,
      agents: result.agents,
      duplicates: result.duplicates,
      contradictions: result.contradictions,
      patterns: result.patterns,
      changed: result.changed,
    };
    return { status: 200, body: response };
  });

  // GET /api/memory/search?q=&agents= — cross-agent search, admins only.
  serve(app, searchAllMemoryRoute, serviceToken, (c, { query }) => {
    if (!isAdmin(principalOf(c))) throw new ForbiddenError("Cross-agent search needs an admin");
    const bytes = utf8ByteLength(query.q);
    if (bytes > MEMORY_LIMITS.queryBytes) throw new LimitExceededError("q", MEMORY_LIMITS.queryBytes, bytes);
    let agentIds: string[] | undefined;
    if (query.agents !== undefined) {
      agentIds = [
        ...new Set(
          query.agents
            .split(",")
            .map((a) => a.trim())
            .filter((a) => a.length > 0),
        ),
      ];
      const bad = agentIds.find((a) => !AGENT_LIST_ITEM.test(a));
      if (bad !== undefined) {
        throw new ValidationError("Invalid agent id in agents", [
          { path: ["agents"], code: "custom", message: `Expected agent ids or ${PATTERN_SCOPE}` },
        ]);
      }
    }
    const result = service.search({
      agentIds,
      query: query.q,
      tag: query.tag,
      since: query.since,
      until: query.until,
      limit: query.limit,
    });
    const response = {
      results: result.results.map((r) => ({ entry: toWireEntry(r.entry), score: r.score })),
      terms: result.terms,
      strategy: result.strategy,
    };
    return { status: 200, body: response };
  });
}
