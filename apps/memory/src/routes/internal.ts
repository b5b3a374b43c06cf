import { memoryHealthRoute, recallMemoryRoute } from "@m3shd/protocol";
import type { MemoryApp, MemoryAppDeps } from "../app";
import { serve } from "../http/define";

/** Service-to-service routes (service token, no end-user principal) and the health probe. */
export function registerInternalRoutes(app: MemoryApp, { service, serviceToken }: MemoryAppDeps): void {
  // POST /internal/recall — the hub's pickup-time memory block (HttpMemoryClient.recall).
  serve(app, recallMemoryRoute, serviceToken, (_c, { body }) => {
    const result = service.recall({
      agentId: body.agent_id,
      text: body.text,
      topK: body.top_k,
      charBudget: body.char_budget,
    });
    return {
      status: 200,
      body: {
        block: result.block,
        chars: result.chars,
        count: result.count,
        keys: result.keys,
        entry_ids: result.entryIds,
      },
    };
  });

  // GET /health — unauthenticated liveness; says nothing about contents.
  serve(app, memoryHealthRoute, serviceToken, () => ({ status: 200, body: { status: "ok" as const } }));
}
