import { UnavailableError } from "@m3shd/protocol";
import type { Context } from "hono";
import { authorize, principalOf } from "../middleware/auth";
import type { HubApp, RouteDeps } from "../types";

/**
 * Agent memory, served by the memory service and exposed here under the hub's auth. The hub
 * authenticates and checks the route's permission; the memory service re-checks the finer rules
 * (an agent-scoped token reaches only its own memories; cross-agent search needs an admin) with the
 * principal the hub forwards.
 */
export function registerMemoryRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  const forward = async (c: Context) => {
    if (!ctx.memory) throw new UnavailableError("The memory service is not configured on this hub");
    // The hub's request id goes along: the memory service's envelopes (and the proxy's own 413,
    // 404 and 503) carry the id the client sees in `X-Request-Id`.
    const requestId = c.get("requestId");
    const res = await ctx.memory.client.forward(c.req.raw, principalOf(c), requestId);
    // A returned Response does not pick up headers set on the context before it: copy it so the
    // id is on the answer too.
    const out = new Response(res.body, res);
    out.headers.set("X-Request-Id", requestId);
    return out;
  };
  app.post("/api/agents/:id/memory", authorize("memory:write", authenticate), forward);
  app.get("/api/agents/:id/memory", authorize("memory:read", authenticate), forward);
  app.get("/api/agents/:id/memory/search", authorize("memory:read", authenticate), forward);
  app.delete("/api/agents/:id/memory/:key", authorize("memory:write", authenticate), forward);
  app.get("/api/memory/search", authorize("memory:read", authenticate), forward);
  app.post("/api/memory/consolidate", authorize("memory:write", authenticate), forward);
}
