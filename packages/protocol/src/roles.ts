import { z } from "zod";
import { PERMISSIONS, type Permission, type UserRole } from "./enums";

const WORKER = [
  "tasks:read",
  "tasks:write",
  "tasks:stream",
  "agents:read",
  "messages:read",
  "messages:write",
  "memory:read",
  "memory:write",
  "voice:dispatch",
] as const satisfies readonly Permission[];

/**
 * Permission presets for tokens, exactly as issue 5 lists their members. Pure data: which
 * permission a route needs is decided by the hub's route table, not here.
 *
 * Note: issue 5 also states tallies (worker 10, mobile 9, commander 12) that its own member lists
 * do not add up to (9, 8, 11); no extra permission fits all three tallies, so the lists win. If the
 * route table puts register/heartbeat under `agents:write`, the worker preset needs it added.
 */
export const ROLE_PRESETS = {
  /** Pull, stream, complete and hand off tasks; read agents; chat; own memory; voice dispatch. */
  worker: WORKER,
  /** A phone: the worker preset without `voice:dispatch`. */
  mobile: WORKER.filter((permission) => permission !== "voice:dispatch"),
  /** An operator console: the worker preset plus `agents:write` and `admin:analytics`. */
  commander: [...WORKER, "agents:write", "admin:analytics"],
  /** Every permission. */
  admin: PERMISSIONS,
} as const satisfies Record<string, readonly Permission[]>;

export const ROLE_PRESET_NAMES = [
  "worker",
  "mobile",
  "commander",
  "admin",
] as const satisfies readonly (keyof typeof ROLE_PRESETS)[];
export const RolePresetSchema = z.enum(ROLE_PRESET_NAMES);
export type RolePreset = z.infer<typeof RolePresetSchema>;

/** The permissions of a preset. */
export function permissionsForRole(role: RolePreset): readonly Permission[] {
  return ROLE_PRESETS[role];
}

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
