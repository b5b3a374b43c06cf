import { constantTimeEqual } from "@m3shd/crypto";
import {
  AgentIdSchema,
  ForbiddenError,
  PERMISSIONS,
  type Permission,
  UnauthorizedError,
} from "@m3shd/protocol";
import type { Context, MiddlewareHandler } from "hono";

/** Who is making a request, after authentication. */
export interface Principal {
  kind: "master" | "agent" | "api_key" | "session";
  /** Stable id for logs and audit (`master`, `agent:<id>`, `key:<id>`, `user:<id>`). */
  subject: string;
  permissions: ReadonlySet<Permission>;
  /** The agent a token is scoped to; null for principals that may act for any agent. */
  agentId: string | null;
}

/** Resolves a bearer token to a principal, or null when it is not valid. */
export type Authenticator = (token: string, c: Context) => Promise<Principal | null> | Principal | null;

/** The permission a route requires, or `public` for the few unauthenticated routes. */
export type RoutePermission = Permission | "public";

/** Marker on the authorize middleware so a test can walk `app.routes` and find every declaration. */
export const ROUTE_PERMISSION = Symbol.for("m3shd.route-permission");

export type AuthorizeMiddleware = MiddlewareHandler & { [ROUTE_PERMISSION]: RoutePermission };

const ALL_PERMISSIONS: ReadonlySet<Permission> = new Set(PERMISSIONS);

/** The master token's principal: every permission, any agent. */
export function masterAuthenticator(masterToken: string): Authenticator {
  return (token) =>
    constantTimeEqual(token, masterToken)
      ? { kind: "master", subject: "master", permissions: ALL_PERMISSIONS, agentId: null }
      : null;
}

/** Tries each authenticator in order. */
export function chainAuthenticators(...list: Authenticator[]): Authenticator {
  return async (token, c) => {
    for (const auth of list) {
      const principal = await auth(token, c);
      if (principal) return principal;
    }
    return null;
  };
}

function bearerToken(c: Context): string | null {
  const header = c.req.header("authorization");
  if (!header) return null;
  const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * Declares and enforces a route's permission. Every route passes through exactly one of these
 * (a test walks `app.routes` to prove it); RBAC plugs in through the authenticator, not the routes.
 */
export function authorize(permission: RoutePermission, authenticate: Authenticator): AuthorizeMiddleware {
  const mw: MiddlewareHandler = async (c, next) => {
    if (permission === "public") return next();
    const token = bearerToken(c);
    if (!token) throw new UnauthorizedError("Missing bearer token");
    const principal = await authenticate(token, c);
    if (!principal) throw new UnauthorizedError("Invalid or revoked token");
    if (!principal.permissions.has(permission)) {
      throw new ForbiddenError(`Missing permission ${permission}`, { permission });
    }
    c.set("principal", principal);
    return next();
  };
  return Object.assign(mw, { [ROUTE_PERMISSION]: permission });
}

/** The authenticated principal (set by `authorize`). */
export function principalOf(c: Context): Principal {
  const p = c.get("principal") as Principal | undefined;
  if (!p) throw new UnauthorizedError();
  return p;
}

/**
 * The agent a worker request acts for. A token scoped to an agent acts only for that agent: a
 * path or header naming another one is a 403 (no acting for someone else). An unscoped principal
 * (master) names the agent in the path or the `X-M3shd-Agent` header.
 */
export function actingAgent(c: Context, pathAgentId?: string): string | null {
  const principal = principalOf(c);
  const header = c.req.header("x-m3shd-agent");
  const claimed = pathAgentId ?? header ?? null;
  if (principal.agentId) {
    if (claimed !== null && claimed !== principal.agentId) {
      throw new ForbiddenError(`This token acts only for agent ${principal.agentId}`);
    }
    return principal.agentId;
  }
  if (claimed === null) return null;
  // An unscoped principal acting for an agent manages agents: it needs agents:write too.
  if (!principal.permissions.has("agents:write")) {
    throw new ForbiddenError("Acting for an agent needs an agent token or the agents:write permission", {
      permission: "agents:write",
    });
  }
  const parsed = AgentIdSchema.safeParse(claimed);
  if (!parsed.success) throw new ForbiddenError("X-M3shd-Agent is not a valid agent id");
  return parsed.data;
}
