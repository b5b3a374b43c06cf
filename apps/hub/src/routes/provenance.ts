import { consistencyRoute, merkleRootRoute, taskProvenanceRoute } from "@m3shd/protocol";
import { getConsistency, getMerkleRoot, getTaskProvenance } from "../services/provenance";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** Verifiable results: per-task chain + inclusion proof, log root, consistency proofs. */
export function registerProvenanceRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, taskProvenanceRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: getTaskProvenance(ctx, params.id),
  }));

  handle(app, merkleRootRoute, authenticate, () => ({ status: 200, body: getMerkleRoot(ctx) }));

  handle(app, consistencyRoute, authenticate, (_c, { query }) => ({
    status: 200,
    body: getConsistency(ctx, query.from, query.to),
  }));
}
