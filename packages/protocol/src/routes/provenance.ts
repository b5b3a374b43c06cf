import {
  ConsistencyQuerySchema,
  ConsistencyResponseSchema,
  MerkleRootResponseSchema,
  ProvenanceResponseSchema,
} from "../provenance";
import { defineRoute } from "../route";
import { TaskPathSchema } from "./tasks";

export const taskProvenanceRoute = defineRoute({
  id: "provenance.task",
  method: "GET",
  path: "/api/tasks/:id/provenance",
  permission: "tasks:read",
  summary: "A task's signed chain, its verdict and its Merkle inclusion proof",
  description: "404 until the task has completed (nothing signed yet).",
  tags: ["provenance"],
  params: TaskPathSchema,
  responses: { 200: ProvenanceResponseSchema },
  errors: [404],
});

export const merkleRootRoute = defineRoute({
  id: "provenance.root",
  method: "GET",
  path: "/api/provenance/root",
  permission: "tasks:read",
  summary: "The Merkle log's size and root",
  tags: ["provenance"],
  responses: { 200: MerkleRootResponseSchema },
});

export const consistencyRoute = defineRoute({
  id: "provenance.consistency",
  method: "GET",
  path: "/api/provenance/consistency",
  permission: "tasks:read",
  summary: "RFC 6962 consistency proof between two log sizes",
  description: "Needs `1 ≤ from ≤ to ≤ size` (422 otherwise).",
  tags: ["provenance"],
  query: ConsistencyQuerySchema,
  responses: { 200: ConsistencyResponseSchema },
});

/** Verifiable results: per-task chain + inclusion proof, log root, consistency proofs. */
export const PROVENANCE_ROUTES = [taskProvenanceRoute, merkleRootRoute, consistencyRoute] as const;
