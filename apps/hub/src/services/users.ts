import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { hashPassword, needsRehash, verifyPassword } from "@m3shd/crypto";
import {
  ConflictError,
  countUsers,
  deleteUser as dbDeleteUser,
  getUser as dbGetUser,
  listUsers as dbListUsers,
  updateUser as dbUpdateUser,
  getUserByUsername,
  insertUser,
  revokeSessions,
  type UserRow,
} from "@m3shd/db";
import { ForbiddenError, NotFoundError, newId } from "@m3shd/protocol";
import { loadOrCreateSecret } from "@m3shd/service-kit";
import type { HubContext } from "../context";
import type { Principal } from "../middleware/auth";
import type { CreateUserBody, UpdateUserBody, User } from "../schemas/security";
import { audit, audited } from "./audit";

/** Username of the admin created on first run. */
export const SEED_ADMIN_USERNAME = "admin";
/** File in the data directory holding the seed admin's generated password (0600). */
export const SEED_ADMIN_PASSWORD_FILE = "admin-password";

/** A user as the API shows it (never the password hash). */
export function toApiUser(row: UserRow): User {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    last_login_at: row.lastLoginAt,
    disabled_at: row.disabledAt,
  };
}

function requireUser(ctx: HubContext, id: string): UserRow {
  const row = dbGetUser(ctx.database.db, id);
  if (!row) throw new NotFoundError("user", id);
  return row;
}

/** Creates a user with a PBKDF2-SHA256 (310,000 iterations) password hash. 409 if the name is taken. */
export async function createUser(ctx: HubContext, body: CreateUserBody): Promise<User> {
  if (getUserByUsername(ctx.database.db, body.username)) {
    throw new ConflictError(`username ${body.username} is taken`, { username: body.username });
  }
  const passwordHash = await hashPassword(body.password);
  const row = audited(
    ctx,
    "user.create",
    (tx) =>
      insertUser(tx, {
        id: newId("usr"),
        username: body.username,
        passwordHash,
        role: body.role,
        now: ctx.now(),
      }),
    (created) => created.id,
  );
  return toApiUser(row);
}

export function listUsers(ctx: HubContext): User[] {
  return dbListUsers(ctx.database.db).map(toApiUser);
}

export function getUser(ctx: HubContext, id: string): User {
  return toApiUser(requireUser(ctx, id));
}

/**
 * Changes a user's role, password or disabled state. A new password, a disable or a role change
 * ends the user's sessions, so the change applies at once rather than when a session expires.
 * An admin cannot disable or demote themselves (that would lock the last admin out by accident).
 */
export async function updateUser(
  ctx: HubContext,
  principal: Principal,
  id: string,
  body: UpdateUserBody,
): Promise<User> {
  const before = requireUser(ctx, id);
  const self = principal.subject === `user:${id}`;
  if (self && (body.disabled === true || (body.role !== undefined && body.role !== before.role))) {
    throw new ForbiddenError("You cannot disable or change the role of your own account");
  }
  const now = ctx.now();
  const set: Parameters<typeof dbUpdateUser>[1]["set"] = {};
  if (body.role !== undefined) set.role = body.role;
  if (body.password !== undefined) set.passwordHash = await hashPassword(body.password);
  if (body.disabled !== undefined) set.disabledAt = body.disabled ? (before.disabledAt ?? now) : null;
  const roleChanged = body.role !== undefined && body.role !== before.role;
  const disabledChanged = body.disabled !== undefined && body.disabled !== (before.disabledAt !== null);
  // One request may carry several actions (a new role and a disable): one row for each, all in
  // the transaction that makes the change.
  const row = ctx.database.db.transaction(
    (tx) => {
      const updated = dbUpdateUser(tx, { id, set, now });
      if (!updated) throw new NotFoundError("user", id);
      if (body.password !== undefined || body.disabled === true || roleChanged) {
        revokeSessions(tx, { userId: id, now });
      }
      if (roleChanged) audit(tx, ctx, "user.role_change", id);
      if (disabledChanged) audit(tx, ctx, body.disabled ? "user.disable" : "user.enable", id);
      if (body.password !== undefined) audit(tx, ctx, "user.password_reset", id);
      return updated;
    },
    { behavior: "immediate" },
  );
  return toApiUser(row);
}

/** Deletes a user and their sessions. An admin cannot delete themselves. */
export function deleteUser(ctx: HubContext, principal: Principal, id: string): void {
  if (principal.subject === `user:${id}`) throw new ForbiddenError("You cannot delete your own account");
  audited(
    ctx,
    "user.delete",
    (tx) => {
      if (!dbDeleteUser(tx, id)) throw new NotFoundError("user", id);
    },
    () => id,
  );
}

// A fixed hash to verify against when the username is unknown or disabled, so a login costs the
// same PBKDF2 work either way and response time does not reveal which usernames exist.
let decoyHash: Promise<string> | null = null;
function decoy(): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(16).toString("hex"));
  return decoyHash;
}

/**
 * Checks a username and password. Null for an unknown user, a disabled user or a wrong password —
 * indistinguishable to the caller. A hash below today's cost is upgraded on success.
 */
export async function verifyCredentials(
  ctx: HubContext,
  username: string,
  password: string,
): Promise<UserRow | null> {
  const row = getUserByUsername(ctx.database.db, username);
  const usable = row && row.disabledAt === null ? row : null;
  const ok = await verifyPassword(password, usable?.passwordHash ?? (await decoy()));
  if (!usable || !ok) return null;
  const now = ctx.now();
  const set: Parameters<typeof dbUpdateUser>[1]["set"] = { lastLoginAt: now };
  if (needsRehash(usable.passwordHash)) set.passwordHash = await hashPassword(password);
  return dbUpdateUser(ctx.database.db, { id: usable.id, set, now }) ?? usable;
}

/** Sets a new password after checking the current one; ends every session of that user. */
export async function changeOwnPassword(
  ctx: HubContext,
  user: UserRow,
  currentPassword: string,
  newPassword: string,
): Promise<boolean> {
  if (!(await verifyPassword(currentPassword, user.passwordHash))) return false;
  const now = ctx.now();
  const passwordHash = await hashPassword(newPassword);
  audited(
    ctx,
    "user.password_change",
    (tx) => {
      dbUpdateUser(tx, { id: user.id, set: { passwordHash }, now });
      revokeSessions(tx, { userId: user.id, now });
    },
    () => user.id,
  );
  return true;
}

/**
 * First run: when no user exists, creates `admin` (role admin) with a generated password written
 * once to `<dataDir>/admin-password` (mode 0600, exclusive create — two processes starting at once
 * read the same password). The password is never logged; the caller may log the file's path.
 * Does nothing once any user exists.
 */
export async function ensureSeedAdmin(
  ctx: HubContext,
  dataDir: string,
): Promise<{ created: boolean; passwordFile: string | null }> {
  const db = ctx.database.db;
  if (countUsers(db) > 0) return { created: false, passwordFile: null };
  const passwordFile = join(dataDir, SEED_ADMIN_PASSWORD_FILE);
  const { value: password } = loadOrCreateSecret(passwordFile, () => randomBytes(24).toString("base64url"));
  const passwordHash = await hashPassword(password);
  // Another process may have seeded while we hashed: the unique username makes that a no-op.
  if (countUsers(db) > 0) return { created: false, passwordFile: null };
  try {
    insertUser(db, {
      id: newId("usr"),
      username: SEED_ADMIN_USERNAME,
      passwordHash,
      role: "admin",
      now: ctx.now(),
    });
  } catch (err) {
    if (err instanceof ConflictError || (err as { code?: string }).code === "conflict") {
      return { created: false, passwordFile: null };
    }
    throw err;
  }
  return { created: true, passwordFile };
}
