import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import BetterSqlite3, { type Database } from "better-sqlite3";

export const GENERATIONS = ["legacy", "sonoma", "sequoia", "tahoe"] as const;
export type Gen = (typeof GENERATIONS)[number];

const FILES: Record<Gen, string> = {
  legacy: "schema-osx-legacy-2015-plaso.sql",
  sonoma: "schema-macos14-sonoma-era-partial.sql",
  sequoia: "schema-macos15-sequoia-era.sql",
  tahoe: "schema-macos26.0.1-tahoe.sql",
};

/** Tables the partial Sonoma dump lacks; their CREATE lines are taken from the Sequoia dump. */
const SONOMA_MISSING = [
  "chat_message_join",
  "chat_handle_join",
  "attachment",
  "message_attachment_join",
  "kvtable",
  "deleted_messages",
  "sync_deleted_messages",
];

function statements(file: string): string[] {
  const sql = readFileSync(new URL(`./fixtures/${file}`, import.meta.url), "utf8");
  return (
    sql
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("--"))
      // SQLite reserves these names; a real chat.db has them because SQLite made them itself.
      .filter((l) => !/^CREATE TABLE (sqlite_sequence|sqlite_stat1)\b/.test(l))
  );
}

/** The real schema of a macOS generation, statement by statement. */
export function schemaStatements(gen: Gen): string[] {
  const own = statements(FILES[gen]);
  if (gen !== "sonoma") return own;
  const extra = statements(FILES.sequoia).filter((l) =>
    SONOMA_MISSING.some((t) => l.startsWith(`CREATE TABLE ${t} `)),
  );
  return [...extra, ...own];
}

/** Creates `dir/chat.db` from a real schema, in WAL mode like Messages' own database. */
export function createChatDb(dir: string, gen: Gen, options: { drop?: string[] } = {}): string {
  const path = join(dir, "chat.db");
  const db = new BetterSqlite3(path);
  db.pragma("journal_mode = WAL");
  for (const s of schemaStatements(gen)) {
    let stmt = s;
    for (const col of options.drop ?? []) stmt = stmt.replace(new RegExp(`, ${col} [A-Z]+[^,)]*`), "");
    db.exec(stmt);
  }
  db.close();
  return path;
}

export interface InsertOptions {
  chat: { rowid: number; guid: string; roomName: string | null };
  handle: number;
  text?: string | null;
  body?: Buffer | null;
  isFromMe?: boolean;
  guid?: string;
  associatedType?: number;
  itemType?: number;
  attachments?: { filename: string; mime?: string; transferName?: string; bytes?: number }[];
}

/**
 * Plays Messages: a second connection writing chat.db while the bridge reads it, using the
 * columns of the generation it was built from (dates in seconds before High Sierra, ns after).
 */
export class MessagesWriter {
  db: Database;

  constructor(
    readonly path: string,
    readonly gen: Gen,
  ) {
    this.db = new BetterSqlite3(path);
    this.db.pragma("journal_mode = WAL");
    // Messages' own checkpoints are what move rows out of the WAL; tests trigger them explicitly.
    this.db.pragma("wal_autocheckpoint = 0");
  }

  /** A fresh connection, as after Messages restarts. */
  reopen(): void {
    this.db.close();
    this.db = new BetterSqlite3(this.path);
    this.db.pragma("wal_autocheckpoint = 0");
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  date(): bigint {
    const sec = BigInt(Math.floor(Date.now() / 1000) - 978307200);
    return this.gen === "legacy" ? sec : sec * 1_000_000_000n + BigInt((Date.now() % 1000) * 1_000_000);
  }

  handle(id: string, service = "iMessage"): number {
    const found = this.db
      .prepare("SELECT ROWID AS r FROM handle WHERE id = ? AND service = ?")
      .get(id, service) as { r: number } | undefined;
    if (found) return found.r;
    return Number(
      this.db.prepare("INSERT INTO handle (id, service) VALUES (?, ?)").run(id, service).lastInsertRowid,
    );
  }

  chat(input: { handles: number[]; group?: boolean; identifier: string; service?: string }) {
    const service = input.service ?? "iMessage";
    const guid = input.group ? `${service};+;${input.identifier}` : `${service};-;${input.identifier}`;
    const roomName = input.group ? input.identifier : null;
    const rowid = Number(
      this.db
        .prepare(
          "INSERT INTO chat (guid, style, chat_identifier, service_name, room_name) VALUES (?, ?, ?, ?, ?)",
        )
        .run(guid, input.group ? 43 : 45, input.identifier, service, roomName).lastInsertRowid,
    );
    for (const h of input.handles) {
      this.db.prepare("INSERT INTO chat_handle_join (chat_id, handle_id) VALUES (?, ?)").run(rowid, h);
    }
    return { rowid, guid, roomName };
  }

  insert(o: InsertOptions): { rowid: number; guid: string } {
    const guid = o.guid ?? randomUUID().toUpperCase();
    const date = this.date();
    const hasAtt = (o.attachments?.length ?? 0) > 0 ? 1 : 0;
    const run = this.db.transaction(() => {
      const assoc = this.gen === "legacy" ? "" : ", associated_message_type";
      const rowid = Number(
        this.db
          .prepare(
            `INSERT INTO message (guid, text, attributedBody, handle_id, service, date, is_from_me, is_sent,
               cache_roomnames, cache_has_attachments, item_type${assoc})
             VALUES (?, ?, ?, ?, 'iMessage', ?, ?, ?, ?, ?, ?${this.gen === "legacy" ? "" : ", ?"})`,
          )
          .run(
            guid,
            o.text ?? null,
            o.body ?? null,
            o.handle,
            date,
            o.isFromMe ? 1 : 0,
            o.isFromMe ? 1 : 0,
            o.chat.roomName,
            hasAtt,
            o.itemType ?? 0,
            ...(this.gen === "legacy" ? [] : [o.associatedType ?? 0]),
          ).lastInsertRowid,
      );
      if (this.gen === "legacy") {
        this.db
          .prepare("INSERT INTO chat_message_join (chat_id, message_id) VALUES (?, ?)")
          .run(o.chat.rowid, rowid);
      } else {
        this.db
          .prepare("INSERT INTO chat_message_join (chat_id, message_id, message_date) VALUES (?, ?, ?)")
          .run(o.chat.rowid, rowid, date);
      }
      for (const a of o.attachments ?? []) {
        const extra = this.gen === "legacy" ? "" : ", original_guid";
        const aguid = `at_0_${randomUUID().toUpperCase()}`;
        const attId = Number(
          this.db
            .prepare(
              `INSERT INTO attachment (guid, filename, mime_type, transfer_name, total_bytes${extra})
               VALUES (?, ?, ?, ?, ?${this.gen === "legacy" ? "" : ", ?"})`,
            )
            .run(
              aguid,
              a.filename,
              a.mime ?? null,
              a.transferName ?? null,
              a.bytes ?? 0,
              ...(this.gen === "legacy" ? [] : [aguid]),
            ).lastInsertRowid,
        );
        this.db
          .prepare("INSERT INTO message_attachment_join (message_id, attachment_id) VALUES (?, ?)")
          .run(rowid, attId);
      }
      return rowid;
    });
    return { rowid: run(), guid };
  }

  setFromMe(rowid: number, value: boolean): void {
    this.db
      .prepare("UPDATE message SET is_from_me = ?, is_sent = ? WHERE ROWID = ?")
      .run(value ? 1 : 0, value ? 1 : 0, rowid);
  }

  /** Moves every WAL frame into chat.db and truncates the WAL file to zero bytes. */
  checkpoint(): { busy: number; log: number; checkpointed: number } {
    const [r] = this.db.pragma("wal_checkpoint(TRUNCATE)") as {
      busy: number;
      log: number;
      checkpointed: number;
    }[];
    if (!r) throw new Error("no checkpoint result");
    return r;
  }
}
