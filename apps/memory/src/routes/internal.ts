import { jsonBody } from "@m3shd/service-kit";
import type { z } from "zod";
import type { MemoryApp, MemoryAppDeps } from "../app";
import { authorize } from "../http/auth";
import { RecallBodySchema, type RecallResponseSchema } from "../schemas";

/** Service-to-service routes (service token, no end-user principal) and the health probe. */
export function registerInternalRoutes(app: MemoryApp, { service, serviceToken }: MemoryAppDeps): void {
  // POST /internal/recall — the hub's pickup-time memory block (HttpMemoryClient.recall).
  app.post(
    "/internal/recall",
    authorize("service", serviceToken),
    ...jsonBody(RecallBodySchema, 512 * 1024),
    (c) => {
      const body = c.req.valid("json");
      const result = service.recall({
        agentId: body.agent_id,
        text: body.text,
        topK: body.top_k,
        charBudget: body.char_budget,
      });
      const response: z.infer<typeof RecallResponseSchema> = {
        block: result.block,
        chars: result.chars,
        count: result.count,
        keys: result.keys,
        entry_ids: result.entryIds,
      };
      return c.json(response);
    },
  );

  // GET /health — unauthenticated liveness; says nothing about contents.
  app.get("/health", authorize("public", serviceToken), (c) => c.json({ status: "ok" as const }));
}
