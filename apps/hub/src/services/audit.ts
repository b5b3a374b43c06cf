import { type AuditCursor, type AuditLogRow, insertAuditEntry, listAuditEntries } from "@m3shd/db";
import { newId, ValidationError } from "@m3shd/protocol";
import type { HubContext } from "../context";
import type { AuditEntry, AuditQuery } from "../schemas/security";

/** One audited request. */
export interface AuditRecord {
  actor: string;
  action: string;
  target: string | null;
  ip: string | null;
  payloadSha256: string | null;
}

/** Appends an entry to the audit log (time from the hub clock). */
export function recordAudit(ctx: HubContext, record: AuditRecord): void {
  insertAuditEntry(ctx.database.db, { id: newId("aud"), ts: ctx.now(), ...record });
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
