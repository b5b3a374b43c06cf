import { z } from "zod";
import { defineRoute } from "../route";
import {
  AgentTokenIdSchema,
  AgentTokenListResponseSchema,
  AgentTokenResponseSchema,
  ListAgentTokensQuerySchema,
  MintAgentTokenBodySchema,
  MintedAgentTokenResponseSchema,
} from "../security";
import { SMALL_BODY_BYTES } from "./common";

export const AgentTokenPathSchema = z.object({ id: AgentTokenIdSchema });

export const mintTokenRoute = defineRoute({
  id: "tokens.create",
  method: "POST",
  path: "/api/tokens",
  permission: "admin:tokens",
  summary: "Mint an agent token (shown once)",
  description:
    "The token acts for exactly one agent with the permissions given (a preset, a list, or their union). " +
    "Only its SHA-256 is stored. A principal cannot grant a permission it does not hold (403).",
  tags: ["tokens"],
  body: MintAgentTokenBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 201: MintedAgentTokenResponseSchema },
});

export const listTokensRoute = defineRoute({
  id: "tokens.list",
  method: "GET",
  path: "/api/tokens",
  permission: "admin:tokens",
  summary: "List agent tokens, newest first (never the secrets)",
  tags: ["tokens"],
  query: ListAgentTokensQuerySchema,
  responses: { 200: AgentTokenListResponseSchema },
});

export const revokeTokenRoute = defineRoute({
  id: "tokens.revoke",
  method: "DELETE",
  path: "/api/tokens/:id",
  permission: "admin:tokens",
  summary: "Revoke an agent token",
  description: "Idempotent: revoking a revoked token answers the same row.",
  tags: ["tokens"],
  params: AgentTokenPathSchema,
  responses: { 200: AgentTokenResponseSchema },
  errors: [404],
});

/** Agent tokens (`m3shd_ag_…`): mint, list, revoke. */
export const TOKEN_ROUTES = [mintTokenRoute, listTokensRoute, revokeTokenRoute] as const;
