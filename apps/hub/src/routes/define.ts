import type { Permission, RouteDef, RouteInput, RouteReply } from "@m3shd/protocol";
import { jsonBody, pathParams, queryParams } from "@m3shd/service-kit";
import type { Context, Handler, MiddlewareHandler } from "hono";
import { type Authenticator, authorize } from "../middleware/auth";
import type { HubApp, HubEnv } from "../types";

/** Marker on a route's final handler: the id of the descriptor it was registered for. */
export const ROUTE_DESCRIPTOR = Symbol.for("m3shd.route-descriptor");

/** A route the hub can serve: a hub permission or `public` (never the memory service's `service`). */
export type HubRouteDef = RouteDef & { readonly permission: Permission | "public" };

export type RouteHandler<D extends RouteDef> = (
  c: Context<HubEnv>,
  input: RouteInput<D>,
) => RouteReply<D> | Promise<RouteReply<D>>;

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
  const chain: MiddlewareHandler[] = [authorize(route.permission, authenticate), ...before];
  if (route.params) chain.push(pathParams(route.params) as MiddlewareHandler);
  if (route.query) chain.push(queryParams(route.query) as MiddlewareHandler);
  if (route.body)
    chain.push(...(jsonBody(route.body, route.bodyLimitBytes ?? 0) as readonly MiddlewareHandler[]));
  const final: Handler<HubEnv> = async (c) => {
    const valid = c.req.valid.bind(c.req) as (target: string) => unknown;
    const input = {
      params: route.params ? valid("param") : undefined,
      query: route.query ? valid("query") : undefined,
      body: route.body ? valid("json") : undefined,
    } as RouteInput<D>;
    const reply = await handler(c, input);
    if (reply instanceof Response) return reply;
    const { status, body, headers } = reply as {
      status: number;
      body?: unknown;
      headers?: Record<string, string>;
    };
    if (headers) for (const [name, value] of Object.entries(headers)) c.header(name, value);
    // biome-ignore lint/suspicious/noExplicitAny: Hono's status type is a literal union; the descriptor typed it.
    if (body === undefined) return c.body(null, status as any);
    // biome-ignore lint/suspicious/noExplicitAny: as above.
    return c.json(body as object, status as any);
  };
  register(app, route, chain, final);
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
  const final: Handler<HubEnv> = (c) => forward(c);
  register(app, route, [authorize(route.permission, authenticate)], final);
}

function register(app: HubApp, route: RouteDef, chain: readonly MiddlewareHandler[], final: Handler<HubEnv>) {
  Object.assign(final, { [ROUTE_DESCRIPTOR]: route.id });
  // Hono's `on` overloads cannot be picked from a variable method; the handlers are typed above.
  const on = app.on.bind(app) as unknown as (method: string, path: string, ...handlers: unknown[]) => void;
  on(route.method, route.path, ...chain, final);
}

/** The descriptor ids the app's routes were registered for, by `METHOD path`. */
export function registeredDescriptors(app: {
  routes: readonly { method: string; path: string; handler: unknown }[];
}): Map<string, string> {
  const table = new Map<string, string>();
  for (const route of app.routes) {
    const id = (route.handler as Record<symbol, string | undefined>)[ROUTE_DESCRIPTOR];
    if (id !== undefined) table.set(`${route.method} ${route.path}`, id);
  }
  return table;
}
