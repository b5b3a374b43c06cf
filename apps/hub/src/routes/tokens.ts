import { listTokensRoute, mintTokenRoute, revokeTokenRoute } from "@m3shd/protocol";
import { principalOf } from "../middleware/auth";
import { listAgentTokens, mintAgentToken, revokeAgentToken } from "../services/tokens";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** Agent tokens (`m3shd_ag_…`): mint (shown once), list, revoke. Admin only (`admin:tokens`). */
export function registerTokenRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, mintTokenRoute, authenticate, (c, { body }) => ({
    status: 201,
    body: mintAgentToken(ctx, principalOf(c), body),
  }));

  handle(app, listTokensRoute, authenticate, (_c, { query }) => ({
    status: 200,
    body: {
      agent_tokens: listAgentTokens(ctx, {
        ...(query.agent_id ? { agentId: query.agent_id } : {}),
        includeRevoked: query.include_revoked === "true",
      }),
    },
  }));

  handle(app, revokeTokenRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: { agent_token: revokeAgentToken(ctx, params.id) },
  }));
}
