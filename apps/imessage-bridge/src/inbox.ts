import { type FSWatcher, statSync, watch } from "node:fs";
import { basename, dirname } from "node:path";
import { checkAttachment } from "./attachments";
import { ChatDb, type ChatRow } from "./chat-db";
import type { HandleFilter } from "./handles";
import type { BridgeState, Disposition, InboundMessage } from "./state";

export interface InboxOptions {
  chatDbPath: string;
  attachmentsRoot: string;
  filter: HandleFilter;
  /** Every reply starts with this; a row carrying it is ours (the second echo guard). */
  relayPrefix: string;
  /** Fallback poll, always on (the watcher is an accelerator, never the only trigger). ≤ 3000. */
  pollMs: number;
  /** How long a new row is held before deciding, so `is_from_me` can settle. */
  settleMs: number;
  /** Our sends this recent are compared with new rows by identity. */
  echoWindowMs: number;
  /** MAX(ROWID) ahead of the cursor this long with nothing decided → re-arm + health alert. */
  stallMs: number;
  /** First run only (no persisted cursor): start after the newest row, or replay from 0. */
  startAt: "latest" | "beginning";
  batch?: number;
  now?: () => number;
  onAccepted?: (m: InboundMessage) => void;
  onDecided?: (row: ChatRow, d: Disposition) => void;
  onHealth?: (alert: { kind: "stall" | "read_error"; detail: string }) => void;
}

/**
 * Detects new chat.db rows and decides each one exactly once, in ROWID order.
 *
 * Wake-ups come from a watch on the Messages *directory* (macOS replaces chat.db-wal with a
 * new inode on checkpoints and restarts, which silently kills a file watch) and from a poll
 * that never stops. The cursor only moves past a row in the same transaction that records
 * the decision (and queues the message), so a crash replays the row instead of skipping it.
 */
export class Inbox {
  private db: ChatDb | null = null;
  /** Inode of the chat.db file the connection was opened on (a replaced file gets a new one). */
  private dbIno: number | null = null;
  /** Inode of the chat.db-wal the connection holds open (null until one was seen). */
  private walIno: number | null = null;
  private watcher: FSWatcher | null = null;
  private poll: NodeJS.Timeout | null = null;
  private wake: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly firstSeen = new Map<number, number>();
  private lastProgressAt = 0;
  private lastCursor = -1;
  /** Rows decided since start, and wake-ups by source (for health and tests). */
  readonly stats = { decided: 0, watchEvents: 0, polls: 0, rearms: 0, errors: 0 };

  constructor(
    private readonly state: BridgeState,
    private readonly options: InboxOptions,
  ) {
    if (options.pollMs > 3000) throw new Error("pollMs must be ≤ 3000");
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** The open chat.db (opened on first use; throws SchemaError on an unsupported schema). */
  chatDb(): ChatDb {
    if (!this.db) {
      this.dbIno = this.inode();
      this.db = new ChatDb(this.options.chatDbPath);
      // The schema probe has read through the WAL: this is the file the connection holds.
      this.walIno = this.inode("-wal");
    }
    return this.db;
  }

  private inode(suffix = ""): number | null {
    try {
      return statSync(this.options.chatDbPath + suffix).ino;
    } catch {
      return null;
    }
  }

  start(): void {
    const db = this.chatDb();
    if (this.state.cursor() === null) {
      this.state.set("cursor", String(this.options.startAt === "latest" ? db.maxRowId() : 0));
    }
    this.lastProgressAt = this.now();
    this.arm();
    this.poll = setInterval(() => {
      this.stats.polls++;
      this.kick();
    }, this.options.pollMs);
    this.kick();
  }

  private arm(): void {
    this.watcher?.close();
    const name = basename(this.options.chatDbPath);
    try {
      this.watcher = watch(dirname(this.options.chatDbPath), { persistent: false }, (_event, file) => {
        if (file && !String(file).startsWith(name)) return;
        this.stats.watchEvents++;
        this.kick();
      });
      this.watcher.on("error", () => this.rearm("watch error"));
    } catch {
      this.watcher = null; // the poll still runs
    }
  }

  /** Re-opens chat.db and the directory watch (after a stall or a read error). */
  private rearm(why: string): void {
    this.stats.rearms++;
    this.state.bump("health.rearm");
    this.db?.close();
    this.db = null;
    this.arm();
    void why;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    if (this.wake) clearTimeout(this.wake);
    this.watcher?.close();
    while (this.scanning) await this.scanning;
    this.db?.close();
    this.db = null;
  }

  /** Requests a scan; concurrent requests coalesce into one more pass. */
  kick(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = this.scan()
      .catch((err) => {
        this.stats.errors++;
        this.state.bump("health.read_error");
        this.options.onHealth?.({
          kind: "read_error",
          detail: err instanceof Error ? err.message : String(err),
        });
        this.rearm("read error");
      })
      .finally(() => {
        this.scanning = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Resolves once every row currently in chat.db has been decided (or is being held). */
  async drained(): Promise<void> {
    while (this.scanning) await this.scanning;
  }

  private async scan(): Promise<void> {
    // A chat.db replaced under us (restore, rebuild, migration) keeps our connection on the old,
    // unlinked file: it would never show another row. Re-open on the new inode.
    if (this.db && this.dbIno !== null && this.inode() !== null && this.inode() !== this.dbIno) {
      this.state.bump("health.replaced");
      this.options.onHealth?.({ kind: "stall", detail: "chat.db was replaced; re-opened" });
      this.rearm("replaced");
    }
    // The same for the WAL: Messages deletes chat.db-wal and a new file takes the name (on a
    // restart, after a checkpoint) while our connection still holds the unlinked one. Reading
    // through the old descriptor with the new wal-index is at best an I/O error and at worst
    // stale pages from the old file, i.e. rows silently missing: re-open before reading.
    const wal = this.inode("-wal");
    if (this.db && wal !== null) {
      if (this.walIno === null) this.walIno = wal;
      else if (wal !== this.walIno) {
        this.state.bump("health.wal_replaced");
        this.options.onHealth?.({ kind: "stall", detail: "chat.db-wal was replaced; re-opened" });
        this.rearm("wal replaced");
      }
    }
    const db = this.chatDb();
    const batch = this.options.batch ?? 200;
    for (;;) {
      const cursor = this.state.cursor() ?? 0;
      const rows = db.rowsAfter(cursor, batch);
      if (rows.length === 0) break;
      let held = false;
      // Every row's settle clock starts when it is first seen, so a burst settles together
      // instead of one row per settle period.
      const seenAt = this.now();
      for (const row of rows) if (!this.firstSeen.has(row.rowid)) this.firstSeen.set(row.rowid, seenAt);
      for (const row of rows) {
        if (this.stopped) return;
        const now = this.now();
        const first = this.firstSeen.get(row.rowid) ?? now;
        if (now - first < this.options.settleMs) {
          // Hold: later rows wait too, so decisions stay in ROWID order.
          this.scheduleWake(first + this.options.settleMs);
          held = true;
          break;
        }
        // Re-read the row now that it has settled (is_from_me may have flipped, joins landed).
        const fresh = db.row(row.rowid) ?? row;
        await this.decide(fresh, now);
        this.firstSeen.delete(row.rowid);
      }
      if (held || rows.length < batch) break;
    }
    this.selfCheck(db);
  }

  private scheduleWake(at: number): void {
    if (this.wake) return;
    this.wake = setTimeout(
      () => {
        this.wake = null;
        this.kick();
      },
      Math.max(5, at - this.now()),
    );
  }

  /**
   * Raises a health alert and re-arms if rows exist past the cursor but nothing moved it for
   * `stallMs`. MAX(ROWID) is read on a *fresh* connection: the reader's own connection is the
   * suspect (a pinned snapshot, a file replaced under it) and would agree with itself.
   */
  private selfCheck(db: ChatDb): void {
    const cursor = this.state.cursor() ?? 0;
    const now = this.now();
    if (cursor !== this.lastCursor) {
      this.lastCursor = cursor;
      this.lastProgressAt = now;
      return;
    }
    if (now - this.lastProgressAt <= this.options.stallMs || this.firstSeen.size > 0) return;
    this.lastProgressAt = now; // at most one check per stallMs
    let max = db.maxRowId();
    let probe: ChatDb | null = null;
    try {
      probe = new ChatDb(this.options.chatDbPath);
      max = Math.max(max, probe.maxRowId());
    } catch {
      // the main connection's view stands
    } finally {
      probe?.close();
    }
    if (max > cursor) {
      this.state.bump("health.stall");
      this.options.onHealth?.({
        kind: "stall",
        detail: `MAX(ROWID) ${max} > cursor ${cursor} with nothing decided`,
      });
      this.rearm("stall");
      this.kick();
    }
  }

  private classify(row: ChatRow, now: number): Disposition {
    if (this.state.hasSeen(row.guid)) return "duplicate";
    if (this.state.isSentGuid(row.guid)) return "echo";
    if (row.chatGuid) {
      for (const s of this.state.recentSends(row.chatGuid, now - this.options.echoWindowMs)) {
        // Identity: a row that appeared in our chat after our send started, carrying our bytes.
        if (row.rowid > s.beforeRowid && row.text === s.text) {
          this.state.rememberSentGuid(row.guid, s.id, now);
          return row.isFromMe ? "from_me" : "echo";
        }
      }
    }
    if (row.isFromMe) return "from_me";
    if (row.text?.startsWith(this.options.relayPrefix)) return "echo";
    if (row.associatedType !== 0) return "reaction";
    if (row.itemType !== 0) return "system";
    if (!this.options.filter.allows(row.handle)) return "other_handle";
    if (row.text === null && !row.hasAttachments) return "empty";
    return "accepted";
  }

  private async decide(row: ChatRow, now: number): Promise<void> {
    const d = this.classify(row, now);
    let message: InboundMessage | undefined;
    if (d === "accepted") {
      const attachments: InboundMessage["attachments"] = [];
      const refused: InboundMessage["refused"] = [];
      if (row.hasAttachments) {
        for (const a of this.chatDb().attachments(row.rowid)) {
          const check = await checkAttachment(a.filename, this.options.attachmentsRoot);
          if (check.ok) attachments.push({ path: check.path, mime: check.mime, bytes: check.bytes });
          else refused.push({ name: a.transferName ?? check.name, reason: check.reason });
        }
      }
      message = {
        guid: row.guid,
        rowid: row.rowid,
        handle: row.handle ?? "",
        chatGuid: row.chatGuid ?? `${row.service ?? "iMessage"};-;${row.handle ?? ""}`,
        isGroup: row.isGroup,
        // U+FFFC marks where an attachment sat inside the text.
        text: (row.text ?? "").replace(/\uFFFC/g, "").trim(),
        attachments,
        refused,
        dateMs: row.dateMs,
        seenAtMs: this.firstSeen.get(row.rowid) ?? now,
      };
    }
    const fresh = this.state.decide(row.rowid, row.guid, d === "duplicate" ? "duplicate" : d, now, message);
    this.stats.decided++;
    this.options.onDecided?.(row, d);
    if (fresh && message) this.options.onAccepted?.(message);
  }
}
