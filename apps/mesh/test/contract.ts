import { appendFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { assertRouteResponse, HUB_ROUTES, type ObservedResponse } from "@m3shd/protocol";
import { HITS_DIR_ENV, ROUTE_IDS_FILE } from "./contract-coverage";

/**
 * The response contract over real HTTP: every response the integration tests receive (`Api.call`,
 * `sse`) is checked against the descriptor of the route it answers — a declared status, a body
 * that parses with its declared schema, errors in the envelope. A mismatch throws and fails the
 * test. Each hit route id is recorded here and, when the global setup asked for it, in a file, so
 * the run can list which routes the integration tests reached (`contract-coverage.ts`).
 */

/** Route ids this test file's requests answered (with their statuses). */
export const contractHits = new Map<string, Set<number>>();

export function assertContract(response: ObservedResponse): void {
  const route = assertRouteResponse(HUB_ROUTES, response);
  if (!route) return;
  const statuses = contractHits.get(route.id) ?? new Set<number>();
  statuses.add(response.status);
  contractHits.set(route.id, statuses);
  const dir = process.env[HITS_DIR_ENV];
  if (!dir) return;
  const ids = join(dir, ROUTE_IDS_FILE);
  if (!existsSync(ids)) writeFileSync(ids, JSON.stringify(HUB_ROUTES.map((r) => r.id)));
  appendFileSync(join(dir, `${process.pid}.jsonl`), `${JSON.stringify([route.id, response.status])}\n`);
}
