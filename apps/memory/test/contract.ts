import { assertRouteResponse, MEMORY_ROUTES, type ObservedResponse } from "@m3shd/protocol";

/**
 * The memory service's response contract, checked on every `app.request` of its HTTP tests: each
 * response must be a status its route declares and parse with the declared schema (errors with
 * the error envelope). Throws on a mismatch, failing the test that made the request.
 */
export function assertMemoryContract(response: ObservedResponse): void {
  assertRouteResponse(MEMORY_ROUTES, response);
}
