import { ConsistencyQuerySchema, TaskIdSchema } from "@m3shd/protocol";
import { pathParams, queryParams } from "@m3shd/service-kit";
import { z } from "zod";
import { authorize } from "../middleware/auth";
import { getConsistency, getMerkleRoot, getTaskProvenance } from "../services/provenance";
import type { HubApp, RouteDeps } from "../types";

/** Verifiable results: per-task chain + inclusion proof, log root, consistency proofs. */
export function registerProvenanceRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.get(
    "/api/tasks/:id/provenance",
    authorize("tasks:read", authenticate),
    pathParams(z.object({ id: TaskIdSchema })),
    (c) => c.json(getTaskProvenance(ctx, c.req.valid("param").id)),
  );

  app.get("/api/provenance/root", authorize("tasks:read", authenticate), (c) => c.json(getMerkleRoot(ctx)));

  app.get(
    "/api/provenance/consistency",
    authorize("tasks:read", authenticate),
    queryParams(ConsistencyQuerySchema),
    (c) => {
      const { from, to } = c.req.valid("query");
      return c.json(getConsistency(ctx, from, to));
    },
  );
}
