import type { BridgeState, InboundMessage } from "./state";

/** Raised by a handler when the hub could not be reached (or answered 5xx/429): retry later. */
export class RetryableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RetryableError";
  }
}

/** What handling one inbound message produced: replies to send (already worded). */
export interface HandleResult {
  replies: string[];
}

export interface DelivererOptions {
  /** Turns one message into hub calls (idempotent on `message.guid`) and reply texts. */
  handle: (message: InboundMessage) => Promise<HandleResult>;
  /** Queues one reply into the message's chat (a database write only; runs inside a transaction). */
  reply: (chatGuid: string, text: string) => void;
  /** Called after a message left the queue (e.g. to wake the outbox). */
  onDelivered?: (message: InboundMessage) => void;
  baseBackoffMs: number;
  maxBackoffMs: number;
  /** After this many failed attempts a message is parked as `dead` and counted. */
  maxAttempts: number;
  now?: () => number;
  onError?: (err: unknown, message: InboundMessage) => void;
}

/**
 * Moves queued inbound messages to the hub, oldest first, at least once: a message leaves
 * the queue only after its handler succeeded. When the hub is unreachable the pass stops at
 * that message (order is kept, the hub is not hammered) and resumes after an exponential,
 * jittered backoff. The hub dedupes repeats by the message GUID, so a retry after a lost
 * response creates nothing twice.
 */
export class Deliverer {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly state: BridgeState,
    private readonly options: DelivererOptions,
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.again && !this.stopped) {
        this.again = false;
        this.kick();
      } else this.scheduleNext();
    });
  }

  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.settled();
  }

  private scheduleNext(): void {
    if (this.stopped) return;
    const at = this.state.nextInboundAt();
    if (at === null) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.kick(), Math.max(5, at - this.now()));
    this.timer.unref?.();
  }

  private backoff(attempts: number): number {
    const exp = Math.min(this.options.maxBackoffMs, this.options.baseBackoffMs * 2 ** attempts);
    return Math.round(exp / 2 + Math.random() * (exp / 2));
  }

  private async drain(): Promise<void> {
    while (!this.stopped) {
      const due = this.state.dueInbound(this.now(), 20);
      if (due.length === 0) return;
      for (const { message, attempts } of due) {
        if (this.stopped) return;
        let result: HandleResult;
        try {
          result = await this.options.handle(message);
        } catch (err) {
          this.options.onError?.(err, message);
          if (err instanceof RetryableError) {
            this.state.markRetry(
              message.guid,
              err.message,
              this.now() + this.backoff(attempts),
              this.options.maxAttempts,
            );
            this.state.bump("inbound.retry");
            return; // keep order; the backoff timer resumes
          }
          // A refusal by the hub (4xx) will not get better by retrying: tell the sender once.
          result = { replies: [`Could not do that: ${err instanceof Error ? err.message : String(err)}`] };
          this.state.bump("inbound.refused");
        }
        // Marking delivered and queueing the replies is one transaction: a crash here
        // re-handles the message (idempotent at the hub) rather than losing its reply.
        this.state.db.transaction(() => {
          this.state.markDelivered(message.guid, this.now());
          for (const r of result.replies) this.options.reply(message.chatGuid, r);
        })();
        this.state.bump("inbound.delivered");
        this.options.onDelivered?.(message);
      }
    }
  }
}
