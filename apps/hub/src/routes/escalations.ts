import { EscalationIdSchema, ListEscalationsQuerySchema, ResolveEscalationBodySchema } from "@m3shd/protocol";
import { jsonBody, pathParams, queryParams } from "@m3shd/service-kit";
import { z } from "zod";
import { authorize, principalOf } from "../middleware/auth";
import { getEscalationById, listEscalations, resolveEscalation } from "../services/escalations";
import type { HubApp, RouteDeps } from "../types";

const EscalationPath = z.object({ id: EscalationIdSchema });

/** Escalations raised after an agent's consecutive failures: list, read, resolve. */
export function registerEscalationRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.get(
    "/api/escalations",
    authorize("agents:read", authenticate),
    queryParams(ListEscalationsQuerySchema),
    (c) => c.json(listEscalations(ctx, c.req.valid("query"))),
  );

  app.get("/api/escalations/:id", authorize("agents:read", authenticate), pathParams(EscalationPath), (c) =>
    c.json({ escalation: getEscalationById(ctx, c.req.valid("param").id) }),
  );

  app.put(
    "/api/escalations/:id",
    authorize("agents:write", authenticate),
    pathParams(EscalationPath),
    ...jsonBody(ResolveEscalationBodySchema, 16 * 1024),
    async (c) =>
      c.json({
        escalation: await resolveEscalation(
          ctx,
          c.req.valid("param").id,
          c.req.valid("json"),
          principalOf(c).subject,
        ),
      }),
  );
}
