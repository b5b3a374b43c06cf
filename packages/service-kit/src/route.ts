import type { RouteDef, RouteInput, RouteReply } from "@m3shd/protocol";
import type { Context, Env, Handler, MiddlewareHandler } from "hono";
import { jsonBody, pathParams, queryParams } from "./validate";

/** Marker on a route's final handler: the id of the descriptor it was registered for. */
export const ROUTE_DESCRIPTOR = Symbol.for("m3shd.route-descriptor");

/** A handler typed by its descriptor: validated input in, one of the declared replies out. */
export type DescribedHandler<E extends Env, D extends RouteDef> = (
  c: Context<E>,
  input: RouteInput<D>,
) => RouteReply<D> | Promise<RouteReply<D>>;

/** The part of a Hono app the registrar needs (any `Env`). */
interface RoutableApp {
  on(method: string, path: string, ...handlers: unknown[]): unknown;
}

/**
 * Registers `handler` for the route `route` declares, behind `guard` (the service's permission
 * check for `route.permission`) and any `before` middleware: path, query and body are validated
 * from the descriptor's schemas (422/413/415/400 before the handler runs), the handler reads only
 * validated input and returns one of the declared statuses with a body typed by its schema. The
 * final handler is marked with the descriptor id, so a test can prove every route has one.
 */
export function registerRoute<E extends Env, D extends RouteDef>(
  app: RoutableApp,
  route: D,
  guard: MiddlewareHandler<E>,
  handler: DescribedHandler<E, D>,
  before: readonly MiddlewareHandler<E>[] = [],
): void {
  const chain: MiddlewareHandler[] = [guard as MiddlewareHandler, ...(before as MiddlewareHandler[])];
  if (route.params) chain.push(pathParams(route.params) as MiddlewareHandler);
  if (route.query) chain.push(queryParams(route.query) as MiddlewareHandler);
  if (route.body)
    chain.push(...(jsonBody(route.body, route.bodyLimitBytes ?? 0) as readonly MiddlewareHandler[]));
  const final: Handler<E> = async (c) => {
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
  registerFinal(app, route, chain, final);
}

/**
 * Registers a route whose handler answers by itself (a forwarding proxy): only `guard` runs
 * first, the request is left unread, and the final handler is marked with the descriptor id.
 */
export function registerForward<E extends Env>(
  app: RoutableApp,
  route: RouteDef,
  guard: MiddlewareHandler<E>,
  forward: (c: Context<E>) => Promise<Response>,
): void {
  const final: Handler<E> = (c) => forward(c);
  registerFinal(app, route, [guard as MiddlewareHandler], final);
}

function registerFinal(app: RoutableApp, route: RouteDef, chain: readonly unknown[], final: unknown) {
  Object.assign(final as object, { [ROUTE_DESCRIPTOR]: route.id });
  app.on(route.method, route.path, ...chain, final);
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
