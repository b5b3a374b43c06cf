import { AsyncLocalStorage } from "node:async_hooks";
import {
  type AuditCursor,
  type AuditLogRow,
  type Executor,
  insertAuditEntry,
  listAuditEntries,
  pruneAuditEntries,
} from "@m3shd/db";
import { newId, ValidationError } from "@m3shd/protocol";
import type { HubContext } from "../context";
import type { AuditEntry, AuditQuery } from "../schemas/security";

/**
 * The audit log records domain actions, not HTTP requests: one row per action, written by the
 * service that performs it inside the transaction that performs it — the row commits with the
 * action or not at all. Worker traffic (register, heartbeat, claim, chunks, completion, handoff)
 * is not audited: the task rows, their events and the provenance chain are its record, and a row
 * per heartbeat would bury the actions people take. Refused requests are their own actions.
 *
 * docs/security.md lists these (generated from this table by apps/hub/test/security-docs.test.ts).
 */
export const AUDIT_ACTIONS = {
  "task.create": "a task was submitted (target: task id)",
  "task.cancel": "an operator cancelled a task (target: task id)",
  "task.dependencies_add": "parents were added to a task (target: task id)",
  "pipeline.create": "a pipeline was submitted (target: pipeline id)",
  "template.create": "a task template was created (target: template id)",
  "template.update": "a task template was changed (target: template id)",
  "template.delete": "a task template was deleted (target: template id)",
  "token.create": "an agent token was minted (target: token id)",
  "token.revoke": "an agent token was revoked (target: token id)",
  "key.create": "an API key was created (target: key id)",
  "key.update": "an API key's name, permissions or caps changed (target: key id)",
  "key.revoke": "an API key was revoked (target: key id)",
  "user.create": "a dashboard user was created (target: user id)",
  "user.role_change": "a user's role changed (target: user id)",
  "user.disable": "a user was disabled (target: user id)",
  "user.enable": "a disabled user was enabled again (target: user id)",
  "user.password_reset": "an admin set a user's password (target: user id)",
  "user.password_change": "a user changed their own password (target: user id)",
  "user.delete": "a user was deleted (target: user id)",
  "session.login": "a user logged in (target: user id)",
  "session.logout": "a user logged out (target: user id)",
  "session.revoke_all": "every dashboard session was ended (target: none)",
  "approval.request": "an approval was requested (target: approval id)",
  "approval.decide": "an approval was approved or rejected (target: approval id)",
  "escalation.resolve": "an escalation was resolved (target: escalation id)",
  "context.set": "a shared-context entry was written (target: key)",
  "context.delete": "a shared-context entry was deleted (target: key)",
  "agent.settings_update": "an agent's escalation target or token cap changed (target: agent id)",
  "agent.control":
    "an operator control applied by mesh control: capability restriction, maintenance, max concurrent (target: agent id)",
  "webhook.create": "an inbound webhook was created (target: webhook id)",
  "webhook.delete": "an inbound webhook was deleted (target: webhook id)",
  "plugin.enable": "a disabled plugin was enabled (target: plugin name)",
  "plugin.disable": "a plugin was disabled: its tools are refused, its hooks stop (target: plugin name)",
  "node_key.bind": "a node's first signing key was bound at registration (target: `agent id/key id`)",
  "node_key.rotate":
    "an admin bound a new signing key to a node, revoking the old one (target: `agent id/key id`)",
  "node_key.approve": "an admin approved a node key waiting for approval (target: `agent id/key id`)",
  "node_key.revoke": "an admin revoked a node key (target: `agent id/key id`)",
  "auth.login_failed": "a login was refused: bad credentials or throttled (target: username)",
  "auth.refused": "a write was refused with 401, 403 or 429 (target: `METHOD route status`)",
} as const;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

/**
 * Who is acting, for the request being served: set by the audit middleware, read by `audit()`.
 * The principal is read when the row is written (authentication runs after the middleware).
 */
export interface AuditScope {
  actor(): string;
  ip: string | null;
  /** Ids of the rows this request wrote (the middleware adds the body digest after the commit). */
  written: string[];
}

const scopes = new AsyncLocalStorage<AuditScope>();

/** Runs `fn` (the rest of the request) with `scope` as the acting party. */
export function runInAuditScope<T>(scope: AuditScope, fn: () => T): T {
  return scopes.run(scope, fn);
}

/**
 * Writes the audit row of one domain action. Call it inside the transaction that performs the
 * action (`tx`), after the action's own writes succeeded: the row then commits with them or rolls
 * back with them. The actor and IP come from the request being served; outside a request (a
 * queue consumer, a sweep) the actor is `system`.
 */
export function audit(
  tx: Executor,
  ctx: HubContext,
  action: AuditAction,
  target: string | null,
  actor?: string,
): void {
  const scope = scopes.getStore();
  const id = newId("aud");
  insertAuditEntry(tx, {
    id,
    ts: ctx.now(),
    actor: actor ?? scope?.actor() ?? "system",
    action,
    target: target === null ? null : target.slice(0, 256),
    ip: scope?.ip ?? null,
    payloadSha256: null,
  });
  scope?.written.push(id);
}

/**
 * Runs one domain action and writes its audit row in the same IMMEDIATE transaction; `target`
 * names what it acted on, from the action's result (`undefined`: nothing was done, e.g. revoking
 * what was already revoked — no row). An action that throws writes no row.
 */
export function audited<T>(
  ctx: HubContext,
  action: AuditAction,
  perform: (tx: Executor) => T,
  target: (result: T) => string | null | undefined,
): T {
  return ctx.database.db.transaction(
    (tx) => {
      const result = perform(tx);
      const on = target(result);
      if (on !== undefined) audit(tx, ctx, action, on);
      return result;
    },
    { behavior: "immediate" },
  );
}

/** Default retention of audit rows. */
export const DEFAULT_AUDIT_RETENTION_DAYS = 365;

/**
 * Deletes audit rows older than the retention (`auditRetentionDays`; 0 keeps everything), in
 * bounded batches. Returns how many went. Run on a timer by the hub (`startAuditRetention`).
 */
export function pruneAuditLog(ctx: HubContext): number {
  const days = ctx.config.auditRetentionDays ?? DEFAULT_AUDIT_RETENTION_DAYS;
  if (days <= 0) return 0;
  const before = ctx.now() - days * 86_400_000;
  let total = 0;
  for (;;) {
    const n = pruneAuditEntries(ctx.database.db, { before, limit: 1000 });
    total += n;
    if (n < 1000) return total;
  }
}

function toApiEntry(row: AuditLogRow): AuditEntry {
  return {
    id: row.id,
    actor: row.actor,
    action: row.action,
    target: row.target,
    ts: row.ts,
    ip: row.ip,
    payload_sha256: row.payloadSha256,
  };
}

function encodeCursor(cursor: AuditCursor): string {
  return Buffer.from(JSON.stringify([cursor.ts, cursor.id]), "utf8").toString("base64url");
}

function decodeCursor(value: string): AuditCursor | null {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && parsed.length === 2 && Number.isSafeInteger(parsed[0])) {
      if (typeof parsed[1] === "string" && parsed[1].length <= 64) return { ts: parsed[0], id: parsed[1] };
    }
  } catch {
    // Not base64url JSON: fall through.
  }
  return null;
}

/** `GET /api/audit`: newest first, filtered, keyset-paginated. `action` matches as a prefix. */
export function queryAudit(
  ctx: HubContext,
  query: AuditQuery,
): { entries: AuditEntry[]; next_cursor: string | null } {
  let cursor: AuditCursor | null = null;
  if (query.cursor !== undefined) {
    cursor = decodeCursor(query.cursor);
    if (!cursor) {
      throw new ValidationError("Invalid cursor", [
        { path: ["cursor"], code: "custom", message: "Invalid cursor" },
      ]);
    }
  }
  const page = listAuditEntries(ctx.database.db, {
    ...(query.actor !== undefined ? { actor: query.actor } : {}),
    ...(query.action !== undefined ? { actionPrefix: query.action } : {}),
    ...(query.target !== undefined ? { target: query.target } : {}),
    ...(query.since !== undefined ? { since: query.since } : {}),
    ...(query.until !== undefined ? { until: query.until } : {}),
    cursor,
    limit: query.limit,
  });
  return {
    entries: page.items.map(toApiEntry),
    next_cursor: page.nextCursor ? encodeCursor(page.nextCursor) : null,
  };
}
