import { z } from "zod";
import { PermissionSchema } from "../enums";
import { AgentIdSchema } from "../ids";
import { defineRoute } from "../route";

/** The kinds of principal a credential resolves to. */
export const PRINCIPAL_KINDS = ["master", "agent", "api_key", "session"] as const;
export const PrincipalKindSchema = z.enum(PRINCIPAL_KINDS);

/** `GET /api/auth/me` response: who the caller's credential is, and what it may do. */
export const WhoAmIResponseSchema = z.object({
  kind: PrincipalKindSchema,
  /** Stable id used in logs and audit (`master`, `agent:<id>`, `key:<id>`, `user:<id>`). */
  subject: z.string(),
  /** The agent a token is scoped to; null for principals that may act for any agent. */
  agent_id: AgentIdSchema.nullable(),
  /** Every permission the credential holds, in the protocol's order. */
  permissions: z.array(PermissionSchema),
});
export type WhoAmIResponse = z.infer<typeof WhoAmIResponseSchema>;

export const whoAmIRoute = defineRoute({
  id: "auth.me",
  method: "GET",
  path: "/api/auth/me",
  // `public` in the route table because no single permission guards it: any valid credential
  // (bearer token or session cookie) may ask who it is. The handler authenticates itself and
  // answers 401 without one — the same pattern as `/api/auth/password`.
  permission: "public",
  summary: "The caller's principal and permissions",
  description:
    "Any valid credential may call it; 401 without one. Clients (the MCP server, the dashboard) use it " +
    "to hide what the credential cannot do.",
  tags: ["auth"],
  responses: { 200: WhoAmIResponseSchema },
  errors: [401],
});

/** Routes about the caller's own credential. */
export const AUTH_ME_ROUTES = [whoAmIRoute] as const;
