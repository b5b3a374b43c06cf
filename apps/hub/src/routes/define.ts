import type { Permission, RouteDef } from "@m3shd/protocol";
import {
  type DescribedHandler,
  ROUTE_DESCRIPTOR,
  registeredDescriptors,
  registerForward,
  registerRoute,
} from "@m3shd/service-kit";
import type { Context, MiddlewareHandler } from "hono";
import { type Authenticator, authorize } from "../middleware/auth";
import type { HubApp, HubEnv } from "../types";

export { ROUTE_DESCRIPTOR, registeredDescriptors };

/** A route the hub can serve: a hub permission or `public` (never the memory service's `service`). */
export type HubRouteDef = RouteDef & { readonly permission: Permission | "public" };

export type RouteHandler<D extends RouteDef> = DescribedHandler<HubEnv, D>;

/**
 * Registers `handler` for the route `route` declares: its permission (`authorize`), then its path,
 * query and body validation (422/413/415 before the handler runs), then the handler, which reads
 * only validated input and returns one of the route's declared statuses with a body typed by its
 * schema. This is the only way a hub route is registered, so every route has a descriptor.
 */
export function handle<D extends HubRouteDef>(
  app: HubApp,
  route: D,
  authenticate: Authenticator,
  handler: RouteHandler<D>,
  /** Extra middleware run after authorization and before validation (rare: rate limits). */
  before: readonly MiddlewareHandler<HubEnv>[] = [],
): void {
  registerRoute<HubEnv, D>(app, route, authorize(route.permission, authenticate), handler, before);
}

/**
 * Registers a route the hub serves by forwarding it (the memory API): its permission is checked
 * here, and the request goes on untouched — body unread — to `forward`, whose service validates it
 * against the same descriptor's schemas and answers with one of its declared statuses.
 */
export function handleForward<D extends HubRouteDef>(
  app: HubApp,
  route: D,
  authenticate: Authenticator,
  forward: (c: Context<HubEnv>) => Promise<Response>,
): void {
  registerForward<HubEnv>(app, route, authorize(route.permission, authenticate), forward);
}
