import { MEMORY_API_ROUTES, UnavailableError } from "@m3shd/protocol";
import type { Context } from "hono";
import { principalOf } from "../middleware/auth";
import type { HubApp, RouteDeps } from "../types";
import { handleForward } from "./define";

/**
 * Agent memory, served by the memory service and exposed here under the hub's auth. The hub
 * authenticates and checks the route's permission; the memory service validates the request
 * against the same descriptors and re-checks the finer rules (an agent-scoped token reaches only
 * its own memories; cross-agent search needs an admin) with the principal the hub forwards.
 */
export function registerMemoryRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  const forward = async (c: Context) => {
    if (!ctx.memory) throw new UnavailableError("The memory service is not configured on this hub");
    return ctx.memory.client.forward(c.req.raw, principalOf(c));
  };
  for (const route of MEMORY_API_ROUTES) handleForward(app, route, authenticate, forward);
}
