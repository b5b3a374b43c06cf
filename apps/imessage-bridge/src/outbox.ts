import type { ChatDb } from "./chat-db";
import { type OsascriptOptions, SendError, sendMessage } from "./sender";
import type { BridgeState } from "./state";

export interface OutboxOptions {
  /** Sends allowed per rolling hour. Apple blocked an account at ~200/h; stay well under. */
  perHour: number;
  /** How long to look for our own row in chat.db after a send, to learn its GUID. */
  readbackMs: number;
  readbackPollMs: number;
  maxAttempts: number;
  osascript?: OsascriptOptions;
  now?: () => number;
  onSent?: (info: { id: number; chatGuid: string; guid: string | null }) => void;
  onError?: (err: unknown) => void;
}

const HOUR = 3_600_000;

/**
 * Drains the persisted outbox through osascript, one message at a time, within the per-hour
 * budget; beyond it messages stay queued (and survive restarts) until the window frees up.
 * After each send it reads its own row back from chat.db and remembers that row's GUID, so
 * the inbox recognises the echo by identity even if macOS first writes it as `is_from_me = 0`.
 */
export class Outbox {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private again = false;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly state: BridgeState,
    private readonly chatDb: () => ChatDb,
    private readonly options: OutboxOptions,
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Queues a reply (already formatted) and wakes the drainer. */
  enqueue(chatGuid: string, text: string): number {
    const id = this.state.enqueueOutbound(chatGuid, text, this.now());
    this.kick();
    return id;
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = this.drain()
      .catch((err) => this.options.onError?.(err))
      .finally(() => {
        this.running = false;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Resolves when the drainer has nothing in flight. */
  async settled(): Promise<void> {
    while (this.running) await this.idle;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.settled();
  }

  private schedule(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.max(10, at - this.now()));
    this.timer.unref?.();
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      const [item] = this.state.queuedOutbound(1);
      if (!item) return;
      const now = this.now();
      if (this.state.sentSince(now - HOUR) >= this.options.perHour) {
        // Over budget: keep the backlog, wake when the oldest send in the window ages out.
        const oldest = this.state.oldestSentSince(now - HOUR) ?? now;
        this.state.bump("send.deferred");
        this.schedule(oldest + HOUR + 1);
        return;
      }
      // A previous run stopped mid-send: the message may be out already (osascript outlives
      // the bridge). If its row is in chat.db it was sent; only otherwise is it sent again.
      if (item.status === "sending" && item.beforeRowid !== null) {
        const guid = await this.readBack(item.chatGuid, item.text, item.beforeRowid, item.id, false);
        if (guid) {
          this.state.markSent(item.id, this.now());
          this.state.bump("send.recovered");
          this.options.onSent?.({ id: item.id, chatGuid: item.chatGuid, guid });
          continue;
        }
      }
      const before = this.chatDb().maxRowId();
      this.state.markSending(item.id, before);
      try {
        await sendMessage(item.chatGuid, item.text, this.options.osascript);
      } catch (err) {
        const final =
          err instanceof SendError && err.notPermitted ? true : item.attempts + 1 >= this.options.maxAttempts;
        this.state.markSendFailed(item.id, err instanceof Error ? err.message : String(err), final);
        this.state.bump(final ? "send.failed" : "send.retry");
        this.options.onError?.(err);
        if (!final) this.schedule(this.now() + 1000 * 2 ** item.attempts);
        return;
      }
      this.state.markSent(item.id, this.now());
      this.state.bump("send.sent");
      const guid = await this.readBack(item.chatGuid, item.text, before, item.id);
      this.options.onSent?.({ id: item.id, chatGuid: item.chatGuid, guid });
    }
  }

  /** Finds the row Messages wrote for our send: in our chat, after `before`, with our exact text. */
  private async readBack(
    chatGuid: string,
    text: string,
    before: number,
    id: number,
    count = true,
  ): Promise<string | null> {
    const end = this.now() + this.options.readbackMs;
    for (;;) {
      for (const row of this.chatDb().rowsAfter(before, 500)) {
        if (row.chatGuid === chatGuid && row.text === text) {
          this.state.rememberSentGuid(row.guid, id, this.now());
          return row.guid;
        }
      }
      if (this.now() >= end || this.stopped) {
        if (count) this.state.bump("send.unconfirmed");
        return null;
      }
      await new Promise((r) => setTimeout(r, this.options.readbackPollMs));
    }
  }
}
