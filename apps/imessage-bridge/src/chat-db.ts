import BetterSqlite3, { type Database, type Statement } from "better-sqlite3";
import { probeSchema, type SchemaCapabilities } from "./schema";
import { decodeAttributedBody } from "./typedstream";

/** One attachment row of a message, as chat.db records it (path not yet checked). */
export interface ChatAttachment {
  filename: string | null;
  mimeType: string | null;
  transferName: string | null;
  totalBytes: number | null;
}

/** One `message` row joined with its sender handle and chat. */
export interface ChatRow {
  rowid: number;
  guid: string;
  text: string | null;
  /** Where `text` came from: the column, the decoded attributedBody, or nowhere. */
  textSource: "text" | "attributedBody" | "none";
  isFromMe: boolean;
  /** The other party's handle (`handle.id`): the sender when `isFromMe` is false. */
  handle: string | null;
  service: string | null;
  dateMs: number | null;
  chatGuid: string | null;
  chatIdentifier: string | null;
  isGroup: boolean;
  /** Tapbacks, stickers and other rows attached to another message (2000–3999, 1000). */
  associatedType: number;
  /** Non-zero for group events (participant added/left, renamed). */
  itemType: number;
  hasAttachments: boolean;
}

export interface ChatDbOptions {
  /** Milliseconds SQLite waits on a lock (WAL recovery by Messages) before SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

interface RawRow {
  rowid: number;
  guid: string;
  text: string | null;
  body: Buffer | null;
  is_from_me: number;
  handle: string | null;
  service: string | null;
  date_ms: number | null;
  chat_guid: string | null;
  chat_identifier: string | null;
  style: number | null;
  cache_roomnames: string | null;
  assoc: number | null;
  item_type: number | null;
  has_att: number | null;
}

/**
 * Read-only view of Messages' chat.db.
 *
 * Opened read-only *with* its WAL (a plain `readonly` open, never `immutable=1`): chat.db
 * checkpoints only every few MB, so an immutable open misses every message since the last
 * checkpoint — hours or days. Each query is its own short read transaction, so a new WAL
 * frame is visible to the very next query and the connection never pins an old snapshot.
 */
export class ChatDb {
  readonly caps: SchemaCapabilities;
  private readonly db: Database;
  private readonly after: Statement;
  private readonly one: Statement;
  private readonly max: Statement;
  private readonly atts: Statement | null;

  constructor(
    readonly path: string,
    options: ChatDbOptions = {},
  ) {
    this.db = new BetterSqlite3(path, {
      readonly: true,
      fileMustExist: true,
      timeout: options.busyTimeoutMs ?? 2000,
    });
    try {
      this.caps = probeSchema(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
    // Only column names from the probe go into this text; every value is a bound parameter.
    const c = this.caps;
    const select = `SELECT m.ROWID AS rowid, m.guid AS guid, m.text AS text,
        ${c.hasAttributedBody ? "m.attributedBody" : "NULL"} AS body,
        m.is_from_me AS is_from_me, h.id AS handle, m.service AS service,
        CASE WHEN m.date IS NULL OR m.date = 0 THEN NULL
             WHEN m.date > 100000000000000 THEN m.date / 1000000 + 978307200000
             ELSE m.date * 1000 + 978307200000 END AS date_ms,
        c.guid AS chat_guid, c.chat_identifier AS chat_identifier, c.style AS style,
        m.cache_roomnames AS cache_roomnames,
        ${c.hasAssociatedMessageType ? "m.associated_message_type" : "0"} AS assoc,
        ${c.hasItemType ? "m.item_type" : "0"} AS item_type,
        m.cache_has_attachments AS has_att
      FROM message m
      LEFT JOIN handle h ON h.ROWID = m.handle_id
      LEFT JOIN chat_message_join cmj ON cmj.message_id = m.ROWID
      LEFT JOIN chat c ON c.ROWID = cmj.chat_id`;
    this.after = this.db.prepare(`${select} WHERE m.ROWID > ? GROUP BY m.ROWID ORDER BY m.ROWID LIMIT ?`);
    this.one = this.db.prepare(`${select} WHERE m.ROWID = ? GROUP BY m.ROWID`);
    this.max = this.db.prepare("SELECT COALESCE(MAX(ROWID), 0) AS max FROM message");
    this.atts = c.hasAttachments
      ? this.db.prepare(
          `SELECT a.filename AS filename, a.mime_type AS mimeType, a.transfer_name AS transferName,
             a.total_bytes AS totalBytes
           FROM message_attachment_join j JOIN attachment a ON a.ROWID = j.attachment_id
           WHERE j.message_id = ? ORDER BY a.ROWID`,
        )
      : null;
  }

  /** The newest message ROWID (0 for an empty table). */
  maxRowId(): number {
    return (this.max.get() as { max: number }).max;
  }

  /** Messages with ROWID > `rowid`, oldest first. */
  rowsAfter(rowid: number, limit = 100): ChatRow[] {
    return (this.after.all(rowid, limit) as RawRow[]).map(toRow);
  }

  /** A single message, re-read fresh (e.g. after letting `is_from_me` settle). */
  row(rowid: number): ChatRow | null {
    const r = this.one.get(rowid) as RawRow | undefined;
    return r ? toRow(r) : null;
  }

  /** The attachment rows of a message (empty when this schema has no attachment table). */
  attachments(rowid: number): ChatAttachment[] {
    return this.atts ? (this.atts.all(rowid) as ChatAttachment[]) : [];
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** The raw connection, for tests that need to break it (e.g. pin a read snapshot). */
  get connection(): Database {
    return this.db;
  }
}

function toRow(r: RawRow): ChatRow {
  let text: string | null = r.text;
  let textSource: ChatRow["textSource"] = r.text !== null && r.text !== "" ? "text" : "none";
  // Ventura and later often leave `text` NULL and keep the text only in attributedBody.
  if (textSource === "none" && r.body) {
    const decoded = decodeAttributedBody(r.body);
    if (decoded.ok) {
      text = decoded.text;
      textSource = "attributedBody";
    }
  }
  if (textSource === "none") text = null;
  return {
    rowid: r.rowid,
    guid: r.guid,
    text,
    textSource,
    isFromMe: r.is_from_me === 1,
    handle: r.handle,
    service: r.service,
    dateMs: r.date_ms,
    chatGuid: r.chat_guid,
    chatIdentifier: r.chat_identifier,
    // 43 is a group chat's style; cache_roomnames is set only for group chats (Apple's own index relies on it).
    isGroup: r.style === 43 || (r.cache_roomnames !== null && r.cache_roomnames !== ""),
    associatedType: r.assoc ?? 0,
    itemType: r.item_type ?? 0,
    hasAttachments: (r.has_att ?? 0) !== 0,
  };
}
