import { jsonBody, pathParams, queryParams } from "@m3shd/service-kit";
import { z } from "zod";
import { authorize, principalOf } from "../middleware/auth";
import {
  AgentTokenIdSchema,
  ListAgentTokensQuerySchema,
  MintAgentTokenBodySchema,
} from "../schemas/security";
import { listAgentTokens, mintAgentToken, revokeAgentToken } from "../services/tokens";
import type { HubApp, RouteDeps } from "../types";

const SMALL_BODY = 16 * 1024;

/** Agent tokens (`m3shd_ag_…`): mint (shown once), list, revoke. Admin only (`admin:tokens`). */
export function registerTokenRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.post(
    "/api/tokens",
    authorize("admin:tokens", authenticate),
    ...jsonBody(MintAgentTokenBodySchema, SMALL_BODY),
    (c) => c.json(mintAgentToken(ctx, principalOf(c), c.req.valid("json")), 201),
  );

  app.get(
    "/api/tokens",
    authorize("admin:tokens", authenticate),
    queryParams(ListAgentTokensQuerySchema),
    (c) => {
      const query = c.req.valid("query");
      return c.json({
        agent_tokens: listAgentTokens(ctx, {
          ...(query.agent_id ? { agentId: query.agent_id } : {}),
          includeRevoked: query.include_revoked === "true",
        }),
      });
    },
  );

  app.delete(
    "/api/tokens/:id",
    authorize("admin:tokens", authenticate),
    pathParams(z.object({ id: AgentTokenIdSchema })),
    (c) => c.json({ agent_token: revokeAgentToken(ctx, c.req.valid("param").id) }),
  );
}
