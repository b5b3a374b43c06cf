import { assertRouteResponse, HUB_ROUTES, type ObservedResponse, type RouteDef } from "@m3shd/protocol";

/**
 * The response contract, checked on every request the hub tests make (fixture.ts and
 * security-fixture.ts call this): each response must be one of its route's declared statuses and
 * parse with the schema the descriptor declares for it (error statuses with the error envelope).
 * A mismatch — or a status the descriptor does not declare — throws, failing the test that made
 * the request. A request no route matches must be the 404 envelope.
 */

/** Route ids and the statuses each answered, across the tests of this file. */
export const contractHits = new Map<string, Set<number>>();

/** Throws when `response` breaks its route's declared contract; returns the route (if any). */
export function assertContract(response: ObservedResponse): RouteDef | undefined {
  const route = assertRouteResponse(HUB_ROUTES, response);
  if (route) {
    const statuses = contractHits.get(route.id) ?? new Set<number>();
    statuses.add(response.status);
    contractHits.set(route.id, statuses);
  }
  return route;
}
