import {
  ForbiddenError,
  PERMISSIONS,
  type Permission,
  ROLE_PRESETS,
  type RolePreset,
  type UserRole,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import type { Principal } from "../middleware/auth";

/**
 * What each dashboard user role may do. Users are people at the dashboard, not workers: no role
 * streams task output or acts for an agent (`tasks:stream`, `agents:write` belong to agent
 * tokens), and only `admin` manages users, tokens, plugins, webhooks and federation.
 */
export const USER_ROLE_PERMISSIONS: Readonly<Record<UserRole, readonly Permission[]>> = {
  admin: PERMISSIONS,
  user: [
    "tasks:read",
    "tasks:write",
    "agents:read",
    "messages:read",
    "messages:write",
    "memory:read",
    "memory:write",
    "admin:analytics",
    "voice:dispatch",
  ],
  viewer: ["tasks:read", "agents:read", "messages:read", "memory:read"],
};

/**
 * The permission set a token or key is minted with: a role preset, explicit permissions, or both
 * (their union). Neither means the empty set, which grants nothing. Returned in canonical order.
 */
export function resolvePermissions(role?: RolePreset, permissions: readonly Permission[] = []): Permission[] {
  const wanted = new Set<Permission>([...(role ? ROLE_PRESETS[role] : []), ...permissions]);
  return PERMISSIONS.filter((p) => wanted.has(p));
}

/**
 * Refuses privilege escalation: a principal may grant only permissions it holds itself. And the
 * first credential able to mint credentials (`admin:tokens`) can only come from the master token —
 * a seed admin user cannot bootstrap a token on its own.
 */
export function assertGrantable(
  ctx: HubContext,
  principal: Principal,
  permissions: readonly Permission[],
  hasMintingCredential: (ctx: HubContext) => boolean,
): void {
  const missing = permissions.filter((p) => !principal.permissions.has(p));
  if (missing.length > 0) {
    throw new ForbiddenError("Cannot grant permissions you do not hold", { permissions: missing });
  }
  if (permissions.includes("admin:tokens") && principal.kind !== "master" && !hasMintingCredential(ctx)) {
    throw new ForbiddenError("The first admin token can only be minted with the master token", {
      permission: "admin:tokens",
    });
  }
}
