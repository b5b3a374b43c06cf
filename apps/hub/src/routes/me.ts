import { PERMISSIONS, whoAmIRoute } from "@m3shd/protocol";
import { requirePrincipal } from "../middleware/auth";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** `GET /api/auth/me`: who the caller's credential is and which permissions it holds. */
export function registerMeRoutes(app: HubApp, { authenticate }: RouteDeps) {
  handle(app, whoAmIRoute, authenticate, async (c) => {
    const principal = await requirePrincipal(c, authenticate);
    return {
      status: 200,
      body: {
        kind: principal.kind,
        subject: principal.subject,
        agent_id: principal.agentId,
        // In the protocol's order, so the answer is stable whatever order the set was built in.
        permissions: PERMISSIONS.filter((permission) => principal.permissions.has(permission)),
      },
    };
  });
}
