import { constantTimeEqual, hashToken } from "@m3shd/crypto";
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
  /**
   * Agent tokens bound to capabilities: the only ones the agent may register with. Null or absent:
   * unbound (master token, unbound agent tokens).
   */
  capabilities?: readonly string[] | null;
  /** Id of the credential row (agent token, API key) or the session's id hash; absent for master. */
  credentialId?: string;
  /**
   * Sessions only: SHA-256 of the session's CSRF token. A cookie is sent by the browser whoever
   * asked for the request, so every cookie-authenticated write must also prove it read the token.
   */
  csrfTokenHash?: string;
}

/**
 * Resolves a request's credentials to a principal, or null when they are not valid. `token` is the
 * bearer token, or null when the request has none — then only a session cookie can authenticate it.
 * An authenticator may also throw a typed error (429 for a key over its cap).
 */
export type Authenticator = (
  token: string | null,
  c: Context,
) => Promise<Principal | null> | Principal | null;

/** The permission a route requires, or `public` for the few unauthenticated routes. */
export type RoutePermission = Permission | "public";

/** Marker on the authorize middleware so a test can walk `app.routes` and find every declaration. */
export const ROUTE_PERMISSION = Symbol.for("m3shd.route-permission");

export type AuthorizeMiddleware = MiddlewareHandler & { [ROUTE_PERMISSION]: RoutePermission };

const ALL_PERMISSIONS: ReadonlySet<Permission> = new Set(PERMISSIONS);

/** The master token's principal: every permission, any agent. */
export function masterAuthenticator(masterToken: string): Authenticator {
  return (token) =>
    token !== null && constantTimeEqual(token, masterToken)
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
  if (header === undefined) return null;
  const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
  // A malformed Authorization header is a failed login, not an absent one: never fall back to a cookie.
  if (!match?.[1]) throw new UnauthorizedError("Malformed Authorization header (expected `Bearer <token>`)");
  return match[1];
}

/**
 * Declares and enforces a route's permission. Every route passes through exactly one of these
 * (a test walks `app.routes` to prove it); RBAC plugs in through the authenticator, not the routes.
 */
export function authorize(permission: RoutePermission, authenticate: Authenticator): AuthorizeMiddleware {
  const mw: MiddlewareHandler = async (c, next) => {
    if (permission === "public") return next();
    // A bearer token, when present, is the only credential considered: a request never falls
    // back from a bad token to a cookie the browser happened to attach.
    const token = bearerToken(c);
    const principal = await authenticate(token, c);
    if (!principal) {
      throw new UnauthorizedError(token ? "Invalid or revoked token" : "Missing credentials");
    }
    if (principal.kind === "session" && !SAFE_METHODS.has(c.req.method)) {
      requireCsrfToken(c, principal);
    }
    c.set("principal", principal);
    if (!principal.permissions.has(permission)) {
      throw new ForbiddenError(`Missing permission ${permission}`, { permission });
    }
    return next();
  };
  return Object.assign(mw, { [ROUTE_PERMISSION]: permission });
}

/**
 * Authenticates a `public` route that checks its own credentials (`GET /api/auth/me`): the same
 * rules as `authorize` (a bearer token, when present, is the only credential considered), but no
 * permission is required. Throws 401 without a valid credential.
 */
export async function requirePrincipal(c: Context, authenticate: Authenticator): Promise<Principal> {
  const token = bearerToken(c);
  const principal = await authenticate(token, c);
  if (!principal) throw new UnauthorizedError(token ? "Invalid or revoked token" : "Missing credentials");
  c.set("principal", principal);
  return principal;
}

/** Methods that must not change state, so they need no CSRF proof. */
const SAFE_METHODS: ReadonlySet<string> = new Set(["GET", "HEAD", "OPTIONS"]);

/** Header a browser client copies the CSRF token into (from the login response or the CSRF cookie). */
export const CSRF_HEADER = "x-csrf-token";

/**
 * CSRF check for a cookie-authenticated write: the `X-CSRF-Token` header must hash to the token
 * bound to this session (compared in constant time). A cross-site page can make the browser send
 * the cookie but can neither read the token nor set a custom header without a CORS preflight.
 */
export function requireCsrfToken(c: Context, principal: Pick<Principal, "csrfTokenHash">): void {
  const header = c.req.header(CSRF_HEADER);
  const expected = principal.csrfTokenHash;
  if (!header || !expected || header.length > 128 || !constantTimeEqual(hashToken(header), expected)) {
    throw new ForbiddenError("Missing or invalid CSRF token", { header: CSRF_HEADER });
  }
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

/** One row of the route → permission table. */
export interface RoutePermissionEntry {
  method: string;
  path: string;
  /** The declared permission; null when the route has no `authorize` (a bug the tests catch). */
  permission: RoutePermission | null;
  /** How many `authorize` declarations the route has: exactly 1 is correct. */
  declarations: number;
}

/**
 * The route → permission table, read from the routes' own `authorize` declarations — the single
 * source. Tests walk it to prove every route declares exactly one permission, and the table in
 * `docs/security.md` is generated from it. In registration order.
 */
export function listRoutePermissions(app: {
  routes: readonly { method: string; path: string; handler: unknown }[];
}): RoutePermissionEntry[] {
  const table = new Map<string, RoutePermissionEntry>();
  for (const route of app.routes) {
    if (route.method === "ALL") continue;
    const key = `${route.method} ${route.path}`;
    const entry = table.get(key) ?? {
      method: route.method,
      path: route.path,
      permission: null,
      declarations: 0,
    };
    const declared = (route.handler as Record<symbol, RoutePermission | undefined>)[ROUTE_PERMISSION];
    if (declared !== undefined) {
      entry.permission = declared;
      entry.declarations += 1;
    }
    table.set(key, entry);
  }
  return [...table.values()];
}
