import type { Database } from "better-sqlite3";

/** The macOS generation a chat.db's columns point to (by probing, never by OS version). */
export type Generation = "legacy" | "sonoma" | "sequoia" | "tahoe";

/** What the reader may use in this database; probed once at start. */
export interface SchemaCapabilities {
  generation: Generation;
  /** `message.date` unit: seconds before High Sierra, nanoseconds since. Decided per value too. */
  hasAttributedBody: boolean;
  hasAssociatedMessageType: boolean;
  hasDestinationCallerId: boolean;
  hasMessageDate: boolean;
  hasAttachments: boolean;
  hasIsSent: boolean;
  hasItemType: boolean;
}

/** Columns the bridge cannot work without, by table. A missing one is a hard, named error. */
const REQUIRED: Record<string, string[]> = {
  message: ["ROWID", "guid", "text", "handle_id", "is_from_me", "date", "cache_has_attachments", "service"],
  handle: ["ROWID", "id"],
  chat: ["ROWID", "guid", "chat_identifier", "style"],
  chat_message_join: ["chat_id", "message_id"],
};

/** Thrown when chat.db lacks something the bridge needs; the message names the column. */
export class SchemaError extends Error {
  constructor(
    message: string,
    readonly missing: string[],
  ) {
    super(message);
    this.name = "SchemaError";
  }
}

function columns(db: Database, table: string): Set<string> {
  // `table` comes only from the constant lists in this file, never from input.
  const rows = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[];
  return new Set(rows.map((r) => r.name));
}

/** Probes the schema once; throws SchemaError naming every missing required column. */
export function probeSchema(db: Database): SchemaCapabilities {
  const cols = new Map<string, Set<string>>();
  for (const t of [
    "message",
    "handle",
    "chat",
    "chat_message_join",
    "attachment",
    "message_attachment_join",
  ]) {
    cols.set(t, columns(db, t));
  }
  const missing: string[] = [];
  for (const [table, need] of Object.entries(REQUIRED)) {
    const have = cols.get(table) ?? new Set<string>();
    for (const c of need) if (!have.has(c)) missing.push(`${table}.${c}`);
  }
  if (missing.length) {
    throw new SchemaError(
      `chat.db schema is missing ${missing.join(", ")}; this macOS version is not supported yet (run \`m3shd-imessage doctor\`)`,
      missing,
    );
  }
  const msg = cols.get("message") ?? new Set<string>();
  const att = cols.get("attachment") ?? new Set<string>();
  const generation: Generation = msg.has("is_time_sensitive")
    ? "tahoe"
    : msg.has("schedule_type")
      ? "sequoia"
      : msg.has("destination_caller_id")
        ? "sonoma"
        : "legacy";
  return {
    generation,
    hasAttributedBody: msg.has("attributedBody"),
    hasAssociatedMessageType: msg.has("associated_message_type"),
    hasDestinationCallerId: msg.has("destination_caller_id"),
    hasMessageDate: cols.get("chat_message_join")?.has("message_date") ?? false,
    hasAttachments:
      ["filename", "mime_type", "total_bytes", "transfer_name"].every((c) => att.has(c)) &&
      (cols.get("message_attachment_join")?.has("attachment_id") ?? false),
    hasIsSent: msg.has("is_sent"),
    hasItemType: msg.has("item_type"),
  };
}

/** Apple dates: seconds since 2001 before High Sierra, nanoseconds since. Returns Unix ms. */
export function appleDateToUnixMs(raw: number | bigint | null): number | null {
  if (raw === null || raw === undefined) return null;
  const v = typeof raw === "bigint" ? raw : BigInt(Math.trunc(raw));
  if (v === 0n) return null;
  const APPLE_EPOCH_MS = 978_307_200_000n;
  // A nanosecond value after 2001-01-02 is > 1e14; a seconds value stays < 1e10 until 2300.
  const ms = v > 100_000_000_000_000n ? v / 1_000_000n : v * 1000n;
  return Number(ms + APPLE_EPOCH_MS);
}
