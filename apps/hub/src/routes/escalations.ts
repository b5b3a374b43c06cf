import { getEscalationRoute, listEscalationsRoute, resolveEscalationRoute } from "@m3shd/protocol";
import { principalOf } from "../middleware/auth";
import { getEscalationById, listEscalations, resolveEscalation } from "../services/escalations";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** Escalations raised after an agent's consecutive failures: list, read, resolve. */
export function registerEscalationRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, listEscalationsRoute, authenticate, (_c, { query }) => ({
    status: 200,
    body: listEscalations(ctx, query),
  }));

  handle(app, getEscalationRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: { escalation: getEscalationById(ctx, params.id) },
  }));

  handle(app, resolveEscalationRoute, authenticate, async (c, { params, body }) => ({
    status: 200,
    body: { escalation: await resolveEscalation(ctx, params.id, body, principalOf(c).subject) },
  }));
}
