import BetterSqlite3, { type Database } from "better-sqlite3";

/** Disposition of one chat.db row, as the inbox decided it. Counted per value. */
export type Disposition =
  | "accepted"
  | "from_me"
  | "echo"
  | "other_handle"
  | "duplicate"
  | "reaction"
  | "system"
  | "empty";

/** A message accepted for the hub, as queued (and retried) in the bridge's own database. */
export interface InboundMessage {
  guid: string;
  rowid: number;
  handle: string;
  chatGuid: string;
  isGroup: boolean;
  text: string;
  attachments: { path: string; mime: string; bytes: number }[];
  /** Attachments refused by the checks, with the reason told back to the sender. */
  refused: { name: string; reason: string }[];
  dateMs: number | null;
  /** When the bridge first saw the row (Unix ms): the start of inbound latency. */
  seenAtMs: number;
}

export interface QueuedInbound {
  message: InboundMessage;
  attempts: number;
}

export interface OutboxItem {
  id: number;
  chatGuid: string;
  text: string;
  attempts: number;
  /** `sending` when a previous run stopped mid-send (it may or may not have gone out). */
  status: "queued" | "sending";
  /** chat.db's MAX(ROWID) just before the last send started (null before the first). */
  beforeRowid: number | null;
}

const MIGRATION = `
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (guid TEXT PRIMARY KEY, rowid INTEGER NOT NULL, disposition TEXT NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS inbound (
  guid TEXT PRIMARY KEY, body TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('pending','delivered','dead')),
  attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, last_error TEXT,
  created_at INTEGER NOT NULL, delivered_at INTEGER);
CREATE INDEX IF NOT EXISTS inbound_due ON inbound (status, next_at);
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT, chat_guid TEXT NOT NULL, text TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued','sending','sent','failed')),
  attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, sent_at INTEGER,
  before_rowid INTEGER, sent_guid TEXT, error TEXT);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox (status, id);
CREATE TABLE IF NOT EXISTS sent_guids (guid TEXT PRIMARY KEY, outbox_id INTEGER NOT NULL, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS watched_tasks (
  task_id TEXT PRIMARY KEY, chat_guid TEXT NOT NULL, kind TEXT NOT NULL, created_at INTEGER NOT NULL,
  answered_at INTEGER);
`;

/** How long an answered task is remembered (so a redelivered message cannot watch it again). */
const ANSWERED_RETENTION_MS = 30 * 24 * 3600_000;

/**
 * The bridge's own SQLite database (in its data dir): the ROWID cursor, every GUID it has
 * decided on, the inbound retry queue, the outbox with its send log, and the tasks whose
 * results it owes a reply. The cursor and the inbound row are written in one transaction,
 * so a crash between "read" and "queued" can neither skip nor duplicate a message.
 */
export class BridgeState {
  readonly db: Database;

  constructor(path: string) {
    this.db = new BetterSqlite3(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(MIGRATION);
    // Databases created before `answered_at` existed: add it (answered rows used to be deleted).
    const cols = this.db.prepare("SELECT name FROM pragma_table_info('watched_tasks')").all() as {
      name: string;
    }[];
    if (!cols.some((c) => c.name === "answered_at")) {
      this.db.exec("ALTER TABLE watched_tasks ADD COLUMN answered_at INTEGER");
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  get(key: string): string | null {
    const r = this.db.prepare("SELECT value FROM kv WHERE key = ?").get(key) as { value: string } | undefined;
    return r?.value ?? null;
  }

  set(key: string, value: string): void {
    this.db
      .prepare(
        "INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      )
      .run(key, value);
  }

  /** The last chat.db ROWID fully decided, or null before the first run. */
  cursor(): number | null {
    const v = this.get("cursor");
    return v === null ? null : Number(v);
  }

  hasSeen(guid: string): boolean {
    return this.db.prepare("SELECT 1 FROM seen WHERE guid = ?").get(guid) !== undefined;
  }

  isSentGuid(guid: string): boolean {
    return this.db.prepare("SELECT 1 FROM sent_guids WHERE guid = ?").get(guid) !== undefined;
  }

  counter(name: string): number {
    const r = this.db.prepare("SELECT value FROM counters WHERE name = ?").get(name) as
      | { value: number }
      | undefined;
    return r?.value ?? 0;
  }

  counters(): Record<string, number> {
    const rows = this.db.prepare("SELECT name, value FROM counters").all() as {
      name: string;
      value: number;
    }[];
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }

  bump(name: string, by = 1): void {
    this.db
      .prepare(
        "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
      )
      .run(name, by);
  }

  /**
   * Records the decision on one row and moves the cursor past it, atomically; an accepted
   * message enters the inbound queue in the same transaction. Returns false if the GUID was
   * already decided (a duplicate), in which case only the cursor moves.
   */
  decide(
    rowid: number,
    guid: string,
    disposition: Disposition,
    now: number,
    message?: InboundMessage,
  ): boolean {
    return this.db.transaction(() => {
      const fresh =
        this.db
          .prepare("INSERT OR IGNORE INTO seen (guid, rowid, disposition, at) VALUES (?, ?, ?, ?)")
          .run(guid, rowid, disposition, now).changes === 1;
      if (fresh && message) {
        this.db
          .prepare(
            "INSERT OR IGNORE INTO inbound (guid, body, status, next_at, created_at) VALUES (?, ?, 'pending', ?, ?)",
          )
          .run(guid, JSON.stringify(message), now, now);
      }
      this.bump(`rows.${fresh ? disposition : "duplicate"}`);
      this.set("cursor", String(rowid));
      return fresh;
    })();
  }

  /**
   * The oldest pending inbound messages, stopping at the first that is not due yet: delivery
   * is strictly in arrival order, so a message in backoff holds back the ones behind it.
   */
  dueInbound(now: number, limit = 20): QueuedInbound[] {
    const rows = this.db
      .prepare(
        "SELECT body, attempts, next_at FROM inbound WHERE status = 'pending' ORDER BY created_at, rowid LIMIT ?",
      )
      .all(limit) as { body: string; attempts: number; next_at: number }[];
    const due: QueuedInbound[] = [];
    for (const r of rows) {
      if (r.next_at > now) break;
      due.push({ message: JSON.parse(r.body) as InboundMessage, attempts: r.attempts });
    }
    return due;
  }

  /** When the head of the queue is due (Unix ms), or null if nothing is pending. */
  nextInboundAt(): number | null {
    const r = this.db
      .prepare(
        "SELECT next_at AS at FROM inbound WHERE status = 'pending' ORDER BY created_at, rowid LIMIT 1",
      )
      .get() as { at: number } | undefined;
    return r?.at ?? null;
  }

  pendingInbound(): number {
    return (
      this.db.prepare("SELECT COUNT(*) AS n FROM inbound WHERE status = 'pending'").get() as { n: number }
    ).n;
  }

  markDelivered(guid: string, now: number): void {
    this.db
      .prepare(
        "UPDATE inbound SET status = 'delivered', delivered_at = ?, attempts = attempts + 1 WHERE guid = ? AND status = 'pending'",
      )
      .run(now, guid);
  }

  /** Schedules a retry; after `maxAttempts` the message is parked as dead (kept, counted, alerted). */
  markRetry(guid: string, error: string, nextAt: number, maxAttempts: number): void {
    this.db
      .prepare(
        `UPDATE inbound SET attempts = attempts + 1, last_error = ?, next_at = ?,
           status = CASE WHEN attempts + 1 >= ? THEN 'dead' ELSE 'pending' END
         WHERE guid = ? AND status = 'pending'`,
      )
      .run(error.slice(0, 500), nextAt, maxAttempts, guid);
  }

  enqueueOutbound(chatGuid: string, text: string, now: number): number {
    return Number(
      this.db
        .prepare("INSERT INTO outbox (chat_guid, text, status, created_at) VALUES (?, ?, 'queued', ?)")
        .run(chatGuid, text, now).lastInsertRowid,
    );
  }

  /** Queued replies in order; a `sending` row left by a crash is retried (at-least-once to the user). */
  queuedOutbound(limit: number): OutboxItem[] {
    return this.db
      .prepare(
        "SELECT id, chat_guid AS chatGuid, text, attempts, status, before_rowid AS beforeRowid FROM outbox WHERE status IN ('queued','sending') ORDER BY id LIMIT ?",
      )
      .all(limit) as OutboxItem[];
  }

  backlog(): number {
    return (
      this.db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE status IN ('queued','sending')").get() as {
        n: number;
      }
    ).n;
  }

  markSending(id: number, beforeRowid: number): void {
    this.db
      .prepare("UPDATE outbox SET status = 'sending', attempts = attempts + 1, before_rowid = ? WHERE id = ?")
      .run(beforeRowid, id);
  }

  markSent(id: number, now: number): void {
    this.db.prepare("UPDATE outbox SET status = 'sent', sent_at = ? WHERE id = ?").run(now, id);
  }

  markSendFailed(id: number, error: string, final: boolean): void {
    this.db
      .prepare("UPDATE outbox SET status = ?, error = ? WHERE id = ?")
      .run(final ? "failed" : "queued", error.slice(0, 500), id);
  }

  /** Sends started since `since` (Unix ms): the per-hour budget's window. */
  sentSince(since: number): number {
    return (
      this.db
        .prepare("SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NOT NULL AND sent_at >= ?")
        .get(since) as { n: number }
    ).n;
  }

  oldestSentSince(since: number): number | null {
    return (
      this.db.prepare("SELECT MIN(sent_at) AS at FROM outbox WHERE sent_at >= ?").get(since) as {
        at: number | null;
      }
    ).at;
  }

  /**
   * Our own sends that a chat.db row could still be the echo of: sent (or being sent) into
   * `chatGuid` since `since`, whose own row has not been found yet. Once a send's row GUID is
   * known it matches nothing else, so a user who later types the same words is never dropped.
   */
  recentSends(chatGuid: string, since: number): { id: number; text: string; beforeRowid: number }[] {
    return this.db
      .prepare(
        `SELECT id, text, before_rowid AS beforeRowid FROM outbox
         WHERE chat_guid = ? AND status IN ('sending','sent') AND before_rowid IS NOT NULL AND sent_guid IS NULL
           AND COALESCE(sent_at, created_at) >= ? ORDER BY id DESC LIMIT 50`,
      )
      .all(chatGuid, since) as { id: number; text: string; beforeRowid: number }[];
  }

  rememberSentGuid(guid: string, outboxId: number, now: number): void {
    this.db.transaction(() => {
      this.db
        .prepare("INSERT OR IGNORE INTO sent_guids (guid, outbox_id, at) VALUES (?, ?, ?)")
        .run(guid, outboxId, now);
      this.db
        .prepare("UPDATE outbox SET sent_guid = COALESCE(sent_guid, ?) WHERE id = ?")
        .run(guid, outboxId);
    })();
  }

  /**
   * Records that `chatGuid` is owed a reply when the task ends. A task already answered stays
   * answered: a message redelivered after its reply went out (the hub returns the same task)
   * does not watch it again, so nothing answers twice.
   */
  watchTask(taskId: string, chatGuid: string, kind: string, now: number): void {
    this.db
      .prepare(
        "INSERT OR IGNORE INTO watched_tasks (task_id, chat_guid, kind, created_at) VALUES (?, ?, ?, ?)",
      )
      .run(taskId, chatGuid, kind, now);
  }

  /** The chat still owed a reply for this task, or null (not ours, or answered). */
  watchedTask(taskId: string): { chatGuid: string; kind: string } | null {
    return (
      (this.db
        .prepare(
          "SELECT chat_guid AS chatGuid, kind FROM watched_tasks WHERE task_id = ? AND answered_at IS NULL",
        )
        .get(taskId) as { chatGuid: string; kind: string } | undefined) ?? null
    );
  }

  /** Every task still owed a reply, oldest first. */
  watchedTaskIds(): string[] {
    return (
      this.db
        .prepare("SELECT task_id AS id FROM watched_tasks WHERE answered_at IS NULL ORDER BY created_at")
        .all() as { id: string }[]
    ).map((r) => r.id);
  }

  /** Marks a watched task answered; true only for the caller that did (one reply per result). */
  unwatchTask(taskId: string, now = Date.now()): boolean {
    return (
      this.db
        .prepare("UPDATE watched_tasks SET answered_at = ? WHERE task_id = ? AND answered_at IS NULL")
        .run(now, taskId).changes === 1
    );
  }

  /** A task handed off to a continuation: the continuation owes the reply now. */
  transferWatch(fromTaskId: string, toTaskId: string, now: number): boolean {
    return this.db.transaction(() => {
      const w = this.watchedTask(fromTaskId);
      if (!w || !this.unwatchTask(fromTaskId, now)) return false;
      this.watchTask(toTaskId, w.chatGuid, w.kind, now);
      return true;
    })();
  }

  /** Forgets answered tasks older than the retention (a redelivery that late is not plausible). */
  pruneAnswered(now: number): number {
    return this.db
      .prepare("DELETE FROM watched_tasks WHERE answered_at IS NOT NULL AND answered_at < ?")
      .run(now - ANSWERED_RETENTION_MS).changes;
  }
}
