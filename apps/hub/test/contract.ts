import { checkRouteResponse, ErrorBodySchema, HUB_ROUTES, matchRoute, type RouteDef } from "@m3shd/protocol";

/**
 * The response contract, checked on every request the hub tests make: each response must be one of
 * its route's declared statuses and parse with the schema the descriptor declares for it (error
 * statuses with the error envelope). A mismatch — or a status the descriptor does not declare —
 * throws, which fails the test that made the request. A request no route matches must be the 404
 * envelope.
 */

/** Route ids and the statuses each answered, across the tests of this file. */
export const contractHits = new Map<string, Set<number>>();

export interface ObservedResponse {
  method: string;
  /** Path with or without the query string. */
  url: string;
  status: number;
  contentType: string | null;
  /** Parsed JSON, the text of a non-JSON body, or null when empty. */
  body: unknown;
}

/** Throws when `response` breaks its route's declared contract; returns the route (if any). */
export function assertContract(
  response: ObservedResponse,
  routes: readonly RouteDef[] = HUB_ROUTES,
): RouteDef | undefined {
  const pathname = new URL(response.url, "http://hub.test").pathname;
  const route = matchRoute(routes, response.method, pathname);
  if (!route) {
    const envelope = ErrorBodySchema.safeParse(response.body);
    if (response.status === 404 && envelope.success) return undefined;
    throw new Error(
      `contract: ${response.method} ${pathname} matches no descriptor but answered ${response.status} ` +
        `${JSON.stringify(response.body).slice(0, 200)}`,
    );
  }
  const problem = checkRouteResponse(route, response);
  if (problem) throw new Error(`contract: ${problem} — ${JSON.stringify(response.body).slice(0, 300)}`);
  let statuses = contractHits.get(route.id);
  if (!statuses) {
    statuses = new Set();
    contractHits.set(route.id, statuses);
  }
  statuses.add(response.status);
  return route;
}
