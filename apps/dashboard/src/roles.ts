import { type Permission, USER_ROLE_PERMISSIONS } from "@m3shd/protocol";

/** A dashboard user's role, as the login answer names it. */
export type Role = "admin" | "user" | "viewer";

/**
 * What each role may do: the protocol's `USER_ROLE_PERMISSIONS`, the same table the hub grants
 * sessions from. Used only to hide what a user cannot do; the hub still refuses anything not granted.
 */
export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = USER_ROLE_PERMISSIONS;

export function can(role: Role | null | undefined, permission: Permission): boolean {
  if (!role) return false;
  const granted = ROLE_PERMISSIONS[role];
  return granted.includes(permission);
}
