import type { RouteDef } from "@m3shd/protocol";
import { type DescribedHandler, registerRoute } from "@m3shd/service-kit";
import type { MemoryApp } from "../app";
import { authorize, type MemoryEnv, type MemoryRoutePermission } from "./auth";

/** A route the memory service can serve: a memory permission, `service` or `public`. */
export type MemoryRouteDef = RouteDef & { readonly permission: MemoryRoutePermission };

/**
 * Registers `handler` for a descriptor of `MEMORY_ROUTES`: the route's permission (service token,
 * then the hub-forwarded principal), then validation of its path, query and body from the
 * descriptor's schemas, then the handler, whose reply is typed by the descriptor. The only way a
 * memory route is registered (a test compares the app's routes with `MEMORY_ROUTES`).
 */
export function serve<D extends MemoryRouteDef>(
  app: MemoryApp,
  route: D,
  serviceToken: string,
  handler: DescribedHandler<MemoryEnv, D>,
): void {
  registerRoute<MemoryEnv, D>(app, route, authorize(route.permission, serviceToken), handler);
}
