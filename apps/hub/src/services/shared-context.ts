import {
  listContext as dbListContext,
  deleteContextEntry,
  getContextEntry,
  putContextEntry,
  toApiContextEntry,
} from "@m3shd/db";
import {
  type ContextEntry,
  type ContextListResponse,
  type ListContextQuery,
  NotFoundError,
  ValidationError,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import { audited } from "./audit";

// Shared context: a mesh-wide key/value store. Cursors are the last key of the previous page.

function keyCursor(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const key = Buffer.from(value, "base64url").toString("utf8");
  if (!/^[A-Za-z0-9_.:-]{1,200}$/.test(key)) {
    throw new ValidationError("Invalid cursor", [
      { path: ["cursor"], code: "custom", message: "Invalid cursor" },
    ]);
  }
  return key;
}

export function listContext(ctx: HubContext, query: ListContextQuery): ContextListResponse {
  const after = keyCursor(query.cursor);
  const page = dbListContext(ctx.database.db, {
    ...(query.prefix ? { prefix: query.prefix } : {}),
    ...(after !== undefined ? { afterKey: after } : {}),
    limit: query.limit,
  });
  return {
    entries: page.items.map(toApiContextEntry),
    next_cursor: page.nextKey === null ? null : Buffer.from(page.nextKey, "utf8").toString("base64url"),
  };
}

export function getContext(ctx: HubContext, key: string): ContextEntry {
  const row = getContextEntry(ctx.database.db, key);
  if (!row) throw new NotFoundError("context", key);
  return toApiContextEntry(row);
}

/** Sets a key; `setBy` is the caller (an agent id, or the principal's subject). */
export function putContext(ctx: HubContext, key: string, value: unknown, setBy: string): ContextEntry {
  return toApiContextEntry(
    audited(
      ctx,
      "context.set",
      (tx) => putContextEntry(tx, { key, value, setBy, now: ctx.now() }),
      () => key,
    ),
  );
}

export function deleteContext(ctx: HubContext, key: string): void {
  audited(
    ctx,
    "context.delete",
    (tx) => {
      if (!deleteContextEntry(tx, key)) throw new NotFoundError("context", key);
    },
    () => key,
  );
}
