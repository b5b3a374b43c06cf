import type { Permission } from "@m3shd/protocol";

/** A dashboard user's role, as the login answer names it. */
export type Role = "admin" | "user" | "viewer";

/**
 * What each role may do — a copy of the hub's `USER_ROLE_PERMISSIONS` (a test keeps them equal),
 * used only to hide what a user cannot do. The hub still refuses anything not granted.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[] | "all">> = {
  admin: "all",
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

export function can(role: Role | null | undefined, permission: Permission): boolean {
  if (!role) return false;
  const granted = ROLE_PERMISSIONS[role];
  return granted === "all" || granted.includes(permission);
}
