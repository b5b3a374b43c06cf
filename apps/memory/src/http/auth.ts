import { constantTimeEqual } from "@m3shd/crypto";
import { ForbiddenError, type Permission, UnauthorizedError } from "@m3shd/protocol";
import type { Context, MiddlewareHandler } from "hono";
import { PATTERN_SCOPE } from "../consolidate";
import { MemoryPrincipalWireSchema } from "../schemas";

/** Header carrying the caller's identity as resolved by the hub. */
export const PRINCIPAL_HEADER = "x-m3shd-principal";

/** Who the hub says is calling. The memory service never sees the caller's own token. */
export interface MemoryPrincipal {
  /** Stable id for logs (`master`, `agent:<id>`, `key:<id>`…). */
  subject: string;
  permissions: ReadonlySet<string>;
  /** The agent the caller's token is scoped to; null for principals that may act for any agent. */
  agentId: string | null;
}

/** What a caller may hand the clients: the hub's own `Principal` fits this shape. */
export interface PrincipalLike {
  subject: string;
  permissions: Iterable<string>;
  agentId: string | null;
}

/** Hono environment of the memory app. */
export interface MemoryEnv {
  Variables: { principal: MemoryPrincipal; requestId: string; service: true };
}

/** The permission a route declares: a memory permission, `service` (token only) or `public`. */
export type MemoryRoutePermission =
  | Extract<Permission, "memory:read" | "memory:write">
  | "service"
  | "public";

/** Marker so a test can walk `app.routes` and find every route's declaration. */
export const ROUTE_PERMISSION = Symbol.for("m3shd.memory.route-permission");

/** Encodes a principal for the header (base64url JSON). */
export function encodePrincipal(principal: PrincipalLike): string {
  const wire = {
    subject: principal.subject,
    permissions: [...principal.permissions],
    agent_id: principal.agentId,
  };
  return Buffer.from(JSON.stringify(wire), "utf8").toString("base64url");
}

function decodePrincipal(header: string | undefined): MemoryPrincipal | null {
  if (!header || header.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(header)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(header, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  const parsed = MemoryPrincipalWireSchema.safeParse(raw);
  if (!parsed.success) return null;
  return {
    subject: parsed.data.subject,
    permissions: new Set(parsed.data.permissions),
    agentId: parsed.data.agent_id,
  };
}

function bearer(c: Context): string | null {
  const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(c.req.header("authorization") ?? "");
  return match?.[1] ?? null;
}

/**
 * Declares and enforces a route's permission. Every caller but `public` must present the shared
 * service token (constant-time compare): only the hub (or an in-process client) may talk to this
 * service. Memory permissions additionally need the hub-resolved principal holding that permission.
 */
export function authorize(
  permission: MemoryRoutePermission,
  serviceToken: string,
): MiddlewareHandler<MemoryEnv> {
  const mw: MiddlewareHandler<MemoryEnv> = async (c, next) => {
    if (permission === "public") return next();
    const token = bearer(c);
    if (!token || !constantTimeEqual(token, serviceToken))
      throw new UnauthorizedError("Invalid service token");
    c.set("service", true);
    if (permission === "service") return next();
    const principal = decodePrincipal(c.req.header(PRINCIPAL_HEADER));
    if (!principal) throw new UnauthorizedError("Missing or malformed caller identity");
    if (!principal.permissions.has(permission)) {
      throw new ForbiddenError(`Missing permission ${permission}`, { permission });
    }
    c.set("principal", principal);
    return next();
  };
  return Object.assign(mw, { [ROUTE_PERMISSION]: permission });
}

/** Admins: unscoped principals holding `agents:admin` (the master token has every permission). */
export function isAdmin(principal: MemoryPrincipal): boolean {
  return principal.agentId === null && principal.permissions.has("agents:admin");
}

/**
 * IDOR guard: an agent-scoped caller reaches only its own memories; the pattern scope (cross-agent
 * data) is for admins only. Unscoped operators with the route's permission may read any agent.
 */
export function assertAgentAccess(principal: MemoryPrincipal, agentId: string): void {
  if (agentId === PATTERN_SCOPE) {
    if (!isAdmin(principal)) throw new ForbiddenError("Cross-agent patterns are visible to admins only");
    return;
  }
  if (principal.agentId !== null && principal.agentId !== agentId) {
    throw new ForbiddenError(`This token reaches only the memories of agent ${principal.agentId}`);
  }
}

/** The principal set by `authorize`. */
export function principalOf(c: Context<MemoryEnv>): MemoryPrincipal {
  const principal = c.get("principal");
  if (!principal) throw new UnauthorizedError();
  return principal;
}
