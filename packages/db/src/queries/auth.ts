import type { Permission, UserRole } from "@m3shd/protocol";
import { and, asc, desc, eq, gt, isNull, lt, lte, or, type SQL, sql } from "drizzle-orm";
import { ConflictError } from "../errors";
import { prepared } from "../prepared";
import { agentTokens, apiKeys, auditLog, sessions, users } from "../schema";
import type { Executor } from "../types";
import { isSqliteConstraintError } from "./sqlite-errors";

/**
 * Credentials and the audit trail: agent tokens, API keys, users, sessions, audit entries.
 *
 * Secrets never reach this module in plaintext: tokens, keys, session ids and CSRF tokens arrive as
 * SHA-256 hex digests and are looked up by digest (a unique index), so no query ever compares a
 * secret. Revocation is a conditional update (`WHERE revoked_at IS NULL`) whose changed-row count
 * tells the caller whether it was this call that revoked. Lookups are never cached here: a revoked
 * credential fails on its very next request.
 */

export type AgentTokenRow = typeof agentTokens.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type UserRow = typeof users.$inferSelect;
export type SessionRow = typeof sessions.$inferSelect;
export type AuditLogRow = typeof auditLog.$inferSelect;

// ---------------------------------------------------------------------------------------------
// Agent tokens

/** Stores a newly minted agent token (its hash and display prefix only). */
export function insertAgentToken(
  db: Executor,
  input: {
    id: string;
    agentId: string;
    tokenHash: string;
    prefix: string;
    permissions: Permission[];
    /** Capabilities the agent may register with; null: unbound. */
    capabilities?: string[] | null;
    createdBy: string | null;
    now: number;
  },
): AgentTokenRow {
  return db
    .insert(agentTokens)
    .values({
      id: input.id,
      agentId: input.agentId,
      tokenHash: input.tokenHash,
      prefix: input.prefix,
      permissions: input.permissions,
      capabilities: input.capabilities ?? null,
      createdBy: input.createdBy,
      createdAt: input.now,
    })
    .returning()
    .get();
}

/** The unrevoked agent token with this SHA-256 hash, or undefined. Runs on every worker request. */
export function findActiveAgentTokenByHash(db: Executor, tokenHash: string): AgentTokenRow | undefined {
  return prepared(db, "findActiveAgentTokenByHash", () =>
    db
      .select()
      .from(agentTokens)
      .where(and(eq(agentTokens.tokenHash, sql.placeholder("hash")), isNull(agentTokens.revokedAt)))
      .prepare(),
  ).get({ hash: tokenHash });
}

/** One agent token by id (revoked or not). */
export function getAgentToken(db: Executor, id: string): AgentTokenRow | undefined {
  return db.select().from(agentTokens).where(eq(agentTokens.id, id)).get();
}

/** Agent tokens, newest first, optionally for one agent; revoked ones only when asked. */
export function listAgentTokens(
  db: Executor,
  filter: { agentId?: string; includeRevoked?: boolean } = {},
): AgentTokenRow[] {
  const where: SQL[] = [];
  if (filter.agentId !== undefined) where.push(eq(agentTokens.agentId, filter.agentId));
  if (!filter.includeRevoked) where.push(isNull(agentTokens.revokedAt));
  return db
    .select()
    .from(agentTokens)
    .where(and(...where))
    .orderBy(desc(agentTokens.createdAt), desc(agentTokens.id))
    .all();
}

/** Revokes a token; returns the revoked row, or undefined when it was unknown or already revoked. */
export function revokeAgentToken(
  db: Executor,
  input: { id: string; now: number },
): AgentTokenRow | undefined {
  return db
    .update(agentTokens)
    .set({ revokedAt: input.now })
    .where(and(eq(agentTokens.id, input.id), isNull(agentTokens.revokedAt)))
    .returning()
    .get();
}

/**
 * Binds an unbound agent token to `capabilities` (its first registration's), once: a token that
 * is already bound keeps its binding. Returns the binding in force after the call.
 */
export function bindAgentTokenCapabilities(
  db: Executor,
  input: { id: string; capabilities: readonly string[] },
): string[] | null {
  const bound = db
    .update(agentTokens)
    .set({ capabilities: [...input.capabilities].sort() })
    .where(and(eq(agentTokens.id, input.id), isNull(agentTokens.capabilities)))
    .returning({ capabilities: agentTokens.capabilities })
    .get();
  if (bound) return bound.capabilities ?? null;
  return getAgentToken(db, input.id)?.capabilities ?? null;
}

/** Records when a token was last used (callers throttle this; it is bookkeeping, not auth). */
export function touchAgentToken(db: Executor, input: { id: string; now: number }): void {
  prepared(db, "touchAgentToken", () =>
    db
      .update(agentTokens)
      .set({ lastUsedAt: sql.placeholder("now") as unknown as number })
      .where(eq(agentTokens.id, sql.placeholder("id")))
      .prepare(),
  ).run({ id: input.id, now: input.now });
}

/**
 * Whether any unrevoked credential (agent token or API key) holds `permission`. Used to let only
 * the master token mint the first credential that can itself mint credentials.
 */
export function hasActiveCredentialWithPermission(db: Executor, permission: Permission): boolean {
  const holds = (column: typeof agentTokens.permissions | typeof apiKeys.permissions) =>
    sql`exists (select 1 from json_each(${column}) where value = ${permission})`;
  const token = db
    .select({ id: agentTokens.id })
    .from(agentTokens)
    .where(and(isNull(agentTokens.revokedAt), holds(agentTokens.permissions)))
    .limit(1)
    .get();
  if (token) return true;
  const key = db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(isNull(apiKeys.revokedAt), holds(apiKeys.permissions)))
    .limit(1)
    .get();
  return key !== undefined;
}

// ---------------------------------------------------------------------------------------------
// API keys

/** Stores a newly minted API key (hash and display prefix only). */
export function insertApiKey(
  db: Executor,
  input: {
    id: string;
    name: string;
    keyHash: string;
    prefix: string;
    permissions: Permission[];
    perMinute: number | null;
    perDay: number | null;
    createdBy: string | null;
    now: number;
  },
): ApiKeyRow {
  return db
    .insert(apiKeys)
    .values({
      id: input.id,
      name: input.name,
      keyHash: input.keyHash,
      prefix: input.prefix,
      permissions: input.permissions,
      perMinute: input.perMinute,
      perDay: input.perDay,
      createdBy: input.createdBy,
      createdAt: input.now,
    })
    .returning()
    .get();
}

/** The unrevoked API key with this SHA-256 hash, or undefined. */
export function findActiveApiKeyByHash(db: Executor, keyHash: string): ApiKeyRow | undefined {
  return prepared(db, "findActiveApiKeyByHash", () =>
    db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, sql.placeholder("hash")), isNull(apiKeys.revokedAt)))
      .prepare(),
  ).get({ hash: keyHash });
}

/** One API key by id (revoked or not). */
export function getApiKey(db: Executor, id: string): ApiKeyRow | undefined {
  return db.select().from(apiKeys).where(eq(apiKeys.id, id)).get();
}

/** API keys, newest first; revoked ones only when asked. */
export function listApiKeys(db: Executor, filter: { includeRevoked?: boolean } = {}): ApiKeyRow[] {
  return db
    .select()
    .from(apiKeys)
    .where(filter.includeRevoked ? undefined : isNull(apiKeys.revokedAt))
    .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id))
    .all();
}

/** Changes an unrevoked key's name, permissions or caps; undefined when unknown or revoked. */
export function updateApiKey(
  db: Executor,
  input: {
    id: string;
    set: Partial<Pick<ApiKeyRow, "name" | "permissions" | "perMinute" | "perDay">>;
  },
): ApiKeyRow | undefined {
  if (Object.keys(input.set).length === 0) {
    return db
      .select()
      .from(apiKeys)
      .where(and(eq(apiKeys.id, input.id), isNull(apiKeys.revokedAt)))
      .get();
  }
  return db
    .update(apiKeys)
    .set(input.set)
    .where(and(eq(apiKeys.id, input.id), isNull(apiKeys.revokedAt)))
    .returning()
    .get();
}

/** Revokes a key; returns the revoked row, or undefined when it was unknown or already revoked. */
export function revokeApiKey(db: Executor, input: { id: string; now: number }): ApiKeyRow | undefined {
  return db
    .update(apiKeys)
    .set({ revokedAt: input.now })
    .where(and(eq(apiKeys.id, input.id), isNull(apiKeys.revokedAt)))
    .returning()
    .get();
}

/**
 * Counts one accepted request against a key's persisted usage totals. `day` is the UTC day
 * (`YYYY-MM-DD`); `requests_today` restarts at 1 when the day changes. One statement, so two hub
 * processes counting at once never lose an increment.
 */
export function recordApiKeyUsage(db: Executor, input: { id: string; day: string; now: number }): void {
  prepared(db, "recordApiKeyUsage", () =>
    db
      .update(apiKeys)
      .set({
        requestsTotal: sql`${apiKeys.requestsTotal} + 1`,
        requestsToday: sql`case when ${apiKeys.usageDay} = ${sql.placeholder("day")} then ${apiKeys.requestsToday} + 1 else 1 end`,
        usageDay: sql.placeholder("day") as unknown as string,
        lastUsedAt: sql.placeholder("now") as unknown as number,
      })
      .where(eq(apiKeys.id, sql.placeholder("id")))
      .prepare(),
  ).run({ id: input.id, day: input.day, now: input.now });
}

// ---------------------------------------------------------------------------------------------
// Users

/** Creates a user; `ConflictError` when the username is taken. */
export function insertUser(
  db: Executor,
  input: { id: string; username: string; passwordHash: string; role: UserRole; now: number },
): UserRow {
  try {
    return db
      .insert(users)
      .values({
        id: input.id,
        username: input.username,
        passwordHash: input.passwordHash,
        role: input.role,
        createdAt: input.now,
        updatedAt: input.now,
      })
      .returning()
      .get();
  } catch (error) {
    if (isSqliteConstraintError(error, "SQLITE_CONSTRAINT_UNIQUE")) {
      throw new ConflictError(`username ${input.username} is taken`, { username: input.username });
    }
    throw error;
  }
}

/** One user by id. */
export function getUser(db: Executor, id: string): UserRow | undefined {
  return db.select().from(users).where(eq(users.id, id)).get();
}

/** One user by username (exact match). */
export function getUserByUsername(db: Executor, username: string): UserRow | undefined {
  return prepared(db, "getUserByUsername", () =>
    db
      .select()
      .from(users)
      .where(eq(users.username, sql.placeholder("username")))
      .prepare(),
  ).get({ username });
}

/** Every user, by username. */
export function listUsers(db: Executor): UserRow[] {
  return db.select().from(users).orderBy(asc(users.username)).all();
}

/** How many users exist (the seed admin is created only when this is 0). */
export function countUsers(db: Executor): number {
  return db.select({ n: sql<number>`count(*)` }).from(users).get()?.n ?? 0;
}

/** Updates a user; undefined when unknown. */
export function updateUser(
  db: Executor,
  input: {
    id: string;
    set: Partial<Pick<UserRow, "role" | "passwordHash" | "disabledAt" | "lastLoginAt">>;
    now: number;
  },
): UserRow | undefined {
  return db
    .update(users)
    .set({ ...input.set, updatedAt: input.now })
    .where(eq(users.id, input.id))
    .returning()
    .get();
}

/** Deletes a user (their sessions go with them); whether a row was deleted. */
export function deleteUser(db: Executor, id: string): boolean {
  return db.delete(users).where(eq(users.id, id)).run().changes === 1;
}

// ---------------------------------------------------------------------------------------------
// Sessions

/** Stores a new session by the hash of its id and the hash of its CSRF token. */
export function insertSession(
  db: Executor,
  input: {
    idHash: string;
    userId: string;
    csrfTokenHash: string;
    expiresAt: number;
    ip: string | null;
    userAgent: string | null;
    now: number;
  },
): SessionRow {
  return db
    .insert(sessions)
    .values({
      idHash: input.idHash,
      userId: input.userId,
      csrfTokenHash: input.csrfTokenHash,
      expiresAt: input.expiresAt,
      ip: input.ip,
      userAgent: input.userAgent,
      createdAt: input.now,
      lastSeenAt: input.now,
    })
    .returning()
    .get();
}

/**
 * The live session with this id hash and its user: not revoked, not expired at `now`, user not
 * disabled. Runs on every cookie-authenticated request.
 */
export function findLiveSession(
  db: Executor,
  input: { idHash: string; now: number },
): { session: SessionRow; user: UserRow } | undefined {
  return prepared(db, "findLiveSession", () =>
    db
      .select({ session: sessions, user: users })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(
        and(
          eq(sessions.idHash, sql.placeholder("idHash")),
          isNull(sessions.revokedAt),
          gt(sessions.expiresAt, sql.placeholder("now")),
          isNull(users.disabledAt),
        ),
      )
      .prepare(),
  ).get({ idHash: input.idHash, now: input.now });
}

/** Revokes one session; whether this call revoked it. */
export function revokeSession(db: Executor, input: { idHash: string; now: number }): boolean {
  return (
    db
      .update(sessions)
      .set({ revokedAt: input.now })
      .where(and(eq(sessions.idHash, input.idHash), isNull(sessions.revokedAt)))
      .run().changes === 1
  );
}

/** Revokes every live session, or every live session of one user; how many were revoked. */
export function revokeSessions(db: Executor, input: { userId?: string; now: number }): number {
  const where = [isNull(sessions.revokedAt)];
  if (input.userId !== undefined) where.push(eq(sessions.userId, input.userId));
  return db
    .update(sessions)
    .set({ revokedAt: input.now })
    .where(and(...where))
    .run().changes;
}

/** Records activity on a session (callers throttle this). */
export function touchSession(db: Executor, input: { idHash: string; now: number }): void {
  db.update(sessions).set({ lastSeenAt: input.now }).where(eq(sessions.idHash, input.idHash)).run();
}

/** Deletes sessions that expired or were revoked before `before`; how many. */
export function purgeSessions(db: Executor, before: number): number {
  return db
    .delete(sessions)
    .where(or(lte(sessions.expiresAt, before), lt(sessions.revokedAt, before)))
    .run().changes;
}

// ---------------------------------------------------------------------------------------------
// Audit log

/** Appends one audit entry. */
export function insertAuditEntry(
  db: Executor,
  entry: {
    id: string;
    actor: string;
    action: string;
    target: string | null;
    ts: number;
    ip: string | null;
    payloadSha256: string | null;
  },
): void {
  prepared(db, "insertAuditEntry", () =>
    db
      .insert(auditLog)
      .values({
        id: sql.placeholder("id") as unknown as string,
        actor: sql.placeholder("actor") as unknown as string,
        action: sql.placeholder("action") as unknown as string,
        target: sql.placeholder("target") as unknown as string,
        ts: sql.placeholder("ts") as unknown as number,
        ip: sql.placeholder("ip") as unknown as string,
        payloadSha256: sql.placeholder("payloadSha256") as unknown as string,
      })
      .prepare(),
  ).run(entry);
}

/**
 * Sets the request-body digest on entries written by one request. The entries themselves are
 * written inside the transactions of their actions; the digest of the body as received is only
 * known to the HTTP layer once the handler has read it, so it follows after the commit.
 */
export function setAuditPayloadDigest(
  db: Executor,
  input: { ids: readonly string[]; payloadSha256: string },
): void {
  if (input.ids.length === 0) return;
  db.update(auditLog)
    .set({ payloadSha256: input.payloadSha256 })
    .where(sql`${auditLog.id} in (select value from json_each(${JSON.stringify(input.ids)}))`)
    .run();
}

/**
 * Deletes entries older than `before` (epoch ms), at most `limit` per call (oldest first, on the
 * `ts` index) so a first prune of a large table never holds the write lock for long. Returns how
 * many went.
 */
export function pruneAuditEntries(db: Executor, input: { before: number; limit: number }): number {
  return db.run(sql`
    DELETE FROM audit_log WHERE id IN (
      SELECT id FROM audit_log WHERE ts < ${input.before} ORDER BY ts LIMIT ${Math.max(1, Math.trunc(input.limit))}
    )`).changes;
}

/** Keyset position in the audit log (newest first). */
export interface AuditCursor {
  ts: number;
  id: string;
}

/** Audit entries newest first, filtered, one page after `cursor`; `nextCursor` when more remain. */
export function listAuditEntries(
  db: Executor,
  filter: {
    actor?: string;
    /** Matches actions starting with this text (e.g. `POST /api/tokens` for every status). */
    actionPrefix?: string;
    target?: string;
    since?: number;
    until?: number;
    cursor?: AuditCursor | null;
    limit: number;
  },
): { items: AuditLogRow[]; nextCursor: AuditCursor | null } {
  const where: SQL[] = [];
  if (filter.actor !== undefined) where.push(eq(auditLog.actor, filter.actor));
  if (filter.actionPrefix !== undefined) {
    // instr() rather than LIKE: no wildcard characters to escape in the operator's input.
    where.push(sql`instr(${auditLog.action}, ${filter.actionPrefix}) = 1`);
  }
  if (filter.target !== undefined) where.push(eq(auditLog.target, filter.target));
  if (filter.since !== undefined) where.push(sql`${auditLog.ts} >= ${filter.since}`);
  if (filter.until !== undefined) where.push(sql`${auditLog.ts} < ${filter.until}`);
  if (filter.cursor) {
    const c = filter.cursor;
    where.push(sql`(${auditLog.ts} < ${c.ts} or (${auditLog.ts} = ${c.ts} and ${auditLog.id} < ${c.id}))`);
  }
  const limit = Math.max(1, Math.trunc(filter.limit));
  const rows = db
    .select()
    .from(auditLog)
    .where(and(...where))
    .orderBy(desc(auditLog.ts), desc(auditLog.id))
    .limit(limit + 1)
    .all();
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? { ts: last.ts, id: last.id } : null };
}
