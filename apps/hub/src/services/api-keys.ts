import { constantTimeEqual, hashToken, mintToken, tokenKind } from "@m3shd/crypto";
import {
  type ApiKeyRow,
  getApiKey as dbGetApiKey,
  listApiKeys as dbListApiKeys,
  revokeApiKey as dbRevokeApiKey,
  updateApiKey as dbUpdateApiKey,
  findActiveApiKeyByHash,
  hasActiveCredentialWithPermission,
  insertApiKey,
  recordApiKeyUsage,
} from "@m3shd/db";
import { NotFoundError, newId, RateLimitedError } from "@m3shd/protocol";
import type { HubContext } from "../context";
import { noteAudit } from "../middleware/audit";
import type { Authenticator, Principal } from "../middleware/auth";
import type { ApiKey, CreateApiKeyBody, UpdateApiKeyBody } from "../schemas/security";
import { audited } from "./audit";
import { type HubLimits, secondsUntil, utcDay } from "./limits";
import { assertGrantable, resolvePermissions } from "./permissions";

/** An API key as the API shows it (never the hash). */
export function toApiKey(row: ApiKeyRow, live?: { minute: number; day: number }): ApiKey {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    permissions: row.permissions,
    per_minute: row.perMinute,
    per_day: row.perDay,
    usage: {
      requests_total: row.requestsTotal,
      requests_today: row.requestsToday,
      usage_day: row.usageDay,
      last_used_at: row.lastUsedAt,
      ...(live ? { current_minute: live.minute, current_day: live.day } : {}),
    },
    created_by: row.createdBy,
    created_at: row.createdAt,
    revoked_at: row.revokedAt,
  };
}

const hasMintingCredential = (ctx: HubContext) =>
  hasActiveCredentialWithPermission(ctx.database.db, "admin:tokens");

/** Creates a third-party API key; the plaintext is returned once. */
export function createApiKey(
  ctx: HubContext,
  principal: Principal,
  body: CreateApiKeyBody,
): { key: string; api_key: ApiKey } {
  const permissions = resolvePermissions(body.role, body.permissions);
  assertGrantable(ctx, principal, permissions, hasMintingCredential);
  const minted = mintToken("key");
  const row = audited(
    ctx,
    "key.create",
    (tx) =>
      insertApiKey(tx, {
        id: newId("key"),
        name: body.name,
        keyHash: minted.hash,
        prefix: minted.prefix,
        permissions,
        perMinute: body.per_minute ?? null,
        perDay: body.per_day ?? null,
        createdBy: principal.subject,
        now: ctx.now(),
      }),
    (created) => created.id,
  );
  return { key: minted.token, api_key: toApiKey(row) };
}

/** Every key (unrevoked unless asked), newest first. */
export function listApiKeys(ctx: HubContext, includeRevoked: boolean): ApiKey[] {
  return dbListApiKeys(ctx.database.db, { includeRevoked }).map((row) => toApiKey(row));
}

/** One key with its live window counters. */
export async function getApiKey(ctx: HubContext, limits: HubLimits, id: string): Promise<ApiKey> {
  const row = dbGetApiKey(ctx.database.db, id);
  if (!row) throw new NotFoundError("api key", id);
  const now = ctx.now();
  const [minute, day] = await Promise.all([
    limits.apiKeyMinute.peek(row.id, now),
    limits.apiKeyDay.peek(row.id, now),
  ]);
  return toApiKey(row, { minute, day });
}

/** Renames a key, changes its caps or replaces its permissions. Caps apply from the next request. */
export function updateApiKey(
  ctx: HubContext,
  principal: Principal,
  id: string,
  body: UpdateApiKeyBody,
): ApiKey {
  const set: Parameters<typeof dbUpdateApiKey>[1]["set"] = {};
  if (body.name !== undefined) set.name = body.name;
  if (body.per_minute !== undefined) set.perMinute = body.per_minute;
  if (body.per_day !== undefined) set.perDay = body.per_day;
  if (body.role !== undefined || body.permissions !== undefined) {
    set.permissions = resolvePermissions(body.role, body.permissions);
    assertGrantable(ctx, principal, set.permissions, hasMintingCredential);
  }
  const row = audited(
    ctx,
    "key.update",
    (tx) => {
      const updated = dbUpdateApiKey(tx, { id, set });
      if (!updated) throw new NotFoundError("api key", id);
      return updated;
    },
    () => id,
  );
  return toApiKey(row);
}

/** Revokes a key, effective on its next request. Idempotent. */
export function revokeApiKey(ctx: HubContext, id: string): ApiKey {
  const db = ctx.database.db;
  // Only the call that revoked it is an action: a repeat changes nothing and writes no row.
  const revoked = audited(
    ctx,
    "key.revoke",
    (tx) => dbRevokeApiKey(tx, { id, now: ctx.now() }),
    (r) => r?.id,
  );
  const row = revoked ?? dbGetApiKey(db, id);
  if (!row) throw new NotFoundError("api key", id);
  return toApiKey(row);
}

/**
 * Authenticates `m3shd_key_…` bearer tokens (looked up by hash, re-checked in constant time) and
 * enforces the key's caps: every authenticated request counts against the minute window, and — if
 * the minute allows it — the day window. Over a cap: 429 with `Retry-After` = the end of that window.
 * The counters are the shared ones (Redis when configured), so caps hold across hub processes.
 */
export function apiKeyAuthenticator(ctx: HubContext, limits: HubLimits): Authenticator {
  return async (token, c) => {
    if (token === null || tokenKind(token) !== "key") return null;
    const hash = hashToken(token);
    const row = findActiveApiKeyByHash(ctx.database.db, hash);
    if (!row || !constantTimeEqual(row.keyHash, hash)) return null;
    // A refused (429) request is still this key's: say so in the audit log.
    noteAudit(c, { actor: `key:${row.id}` });
    const now = ctx.now();
    const minute = await limits.apiKeyMinute.hit(row.id, now);
    if (row.perMinute !== null && minute > row.perMinute) {
      throw new RateLimitedError(
        secondsUntil(limits.apiKeyMinute.windowEnd(now), now),
        `API key over its cap of ${row.perMinute} requests per minute`,
      );
    }
    const day = await limits.apiKeyDay.hit(row.id, now);
    if (row.perDay !== null && day > row.perDay) {
      throw new RateLimitedError(
        secondsUntil(limits.apiKeyDay.windowEnd(now), now),
        `API key over its cap of ${row.perDay} requests per day`,
      );
    }
    recordApiKeyUsage(ctx.database.db, { id: row.id, day: utcDay(now), now });
    return {
      kind: "api_key",
      subject: `key:${row.id}`,
      permissions: new Set(row.permissions),
      agentId: null,
      credentialId: row.id,
    };
  };
}
