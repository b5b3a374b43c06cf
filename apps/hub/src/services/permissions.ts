import {
  ForbiddenError,
  PERMISSIONS,
  type Permission,
  ROLE_PRESETS,
  type RolePreset,
  USER_ROLE_PERMISSIONS,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import type { Principal } from "../middleware/auth";

export { USER_ROLE_PERMISSIONS };

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
