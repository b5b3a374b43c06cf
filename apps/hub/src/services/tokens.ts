import { constantTimeEqual, hashToken, mintToken, tokenKind } from "@m3shd/crypto";
import {
  type AgentTokenRow,
  listAgentTokens as dbListAgentTokens,
  revokeAgentToken as dbRevokeAgentToken,
  findActiveAgentTokenByHash,
  getAgentToken,
  hasActiveCredentialWithPermission,
  insertAgentToken,
  touchAgentToken,
} from "@m3shd/db";
import { NotFoundError, newId } from "@m3shd/protocol";
import type { HubContext } from "../context";
import type { Authenticator, Principal } from "../middleware/auth";
import type { AgentToken, MintAgentTokenBody } from "../schemas/security";
import { audited } from "./audit";
import { assertGrantable, resolvePermissions } from "./permissions";

/** `last_used_at` is bookkeeping for operators: written at most this often per token, never per request. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/** Remembers when `id` was last written, so hot credentials cost a database write per minute, not per request. */
export function makeUsageThrottle(resolutionMs = LAST_USED_RESOLUTION_MS) {
  const written = new Map<string, number>();
  return (id: string, now: number): boolean => {
    const last = written.get(id);
    if (last !== undefined && now - last < resolutionMs && now >= last) return false;
    written.set(id, now);
    // Bounded: forget everything now and then rather than grow with every credential ever seen.
    if (written.size > 10_000) written.clear();
    return true;
  };
}

/** An agent token as the API shows it (never the hash). */
export function toApiAgentToken(row: AgentTokenRow): AgentToken {
  return {
    id: row.id,
    agent_id: row.agentId,
    prefix: row.prefix,
    permissions: row.permissions,
    created_by: row.createdBy,
    created_at: row.createdAt,
    last_used_at: row.lastUsedAt,
    revoked_at: row.revokedAt,
  };
}

/**
 * Mints an agent token scoped to one agent. The plaintext is returned once and never stored: the
 * row keeps its SHA-256 and a display prefix.
 */
export function mintAgentToken(
  ctx: HubContext,
  principal: Principal,
  body: MintAgentTokenBody,
): { token: string; agent_token: AgentToken } {
  const permissions = resolvePermissions(body.role, body.permissions);
  assertGrantable(ctx, principal, permissions, (c) =>
    hasActiveCredentialWithPermission(c.database.db, "admin:tokens"),
  );
  const minted = mintToken("agent");
  const row = audited(
    ctx,
    "token.create",
    (tx) =>
      insertAgentToken(tx, {
        id: newId("tok"),
        agentId: body.agent_id,
        tokenHash: minted.hash,
        prefix: minted.prefix,
        permissions,
        createdBy: principal.subject,
        now: ctx.now(),
      }),
    (created) => created.id,
  );
  return { token: minted.token, agent_token: toApiAgentToken(row) };
}

/** Agent tokens, newest first. */
export function listAgentTokens(
  ctx: HubContext,
  filter: { agentId?: string; includeRevoked?: boolean },
): AgentToken[] {
  return dbListAgentTokens(ctx.database.db, filter).map(toApiAgentToken);
}

/** Revokes a token; effective on its very next request (nothing caches a token). Idempotent. */
export function revokeAgentToken(ctx: HubContext, id: string): AgentToken {
  const db = ctx.database.db;
  // Only the call that revoked it is an action: a repeat changes nothing and writes no row.
  const revoked = audited(
    ctx,
    "token.revoke",
    (tx) => dbRevokeAgentToken(tx, { id, now: ctx.now() }),
    (r) => r?.id,
  );
  const row = revoked ?? getAgentToken(db, id);
  if (!row) throw new NotFoundError("agent token", id);
  return toApiAgentToken(row);
}

/**
 * Authenticates `m3shd_ag_…` bearer tokens. The token is hashed and looked up by its hash, so no
 * plaintext secret is ever compared; the stored hash is then re-checked in constant time, so even
 * the lookup's index comparison is not what grants access.
 */
export function agentTokenAuthenticator(ctx: HubContext): Authenticator {
  const shouldTouch = makeUsageThrottle();
  return (token) => {
    if (token === null || tokenKind(token) !== "agent") return null;
    const hash = hashToken(token);
    const row = findActiveAgentTokenByHash(ctx.database.db, hash);
    if (!row || !constantTimeEqual(row.tokenHash, hash)) return null;
    const now = ctx.now();
    if (shouldTouch(row.id, now)) touchAgentToken(ctx.database.db, { id: row.id, now });
    return {
      kind: "agent",
      subject: `agent:${row.agentId}`,
      permissions: new Set(row.permissions),
      agentId: row.agentId,
      credentialId: row.id,
    };
  };
}
