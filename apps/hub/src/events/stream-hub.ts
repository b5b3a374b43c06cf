import type { MeshEvent } from "@m3shd/protocol";

export interface StreamHubOptions {
  /** Events kept for `Last-Event-ID` resume (default 1000). */
  replayCapacity?: number;
  /** Events a subscriber may have queued before it is dropped as too slow (default 500). */
  subscriberQueueLimit?: number;
}

/** What a subscriber receives next. */
export type SubscriberBatch =
  | { kind: "events"; events: MeshEvent[] }
  | { kind: "idle" } // nothing arrived within the wait: time for a keepalive
  | { kind: "dropped" } // the queue overflowed: send the final event and close
  | { kind: "closed" };

/**
 * One SSE subscriber's bounded queue. The hub pushes; the stream loop pulls. The queue never
 * holds more than `limit` events: on overflow it is emptied and marked dropped, so a client that
 * stops reading costs at most `limit` events of memory, never more.
 */
export class Subscriber {
  #queue: MeshEvent[] = [];
  #wake: (() => void) | undefined;
  #dropped = false;
  #closed = false;
  #onDrop: (() => void) | undefined;

  constructor(
    readonly limit: number,
    private readonly filter: ((e: MeshEvent) => boolean) | undefined,
    private readonly onClose: (s: Subscriber) => void,
  ) {}

  /** Queues an event; returns false once the subscriber is dropped or closed. */
  push(event: MeshEvent): boolean {
    if (this.#dropped || this.#closed) return false;
    if (this.filter && !this.filter(event)) return true;
    if (this.#queue.length >= this.limit) {
      // Overflow: free the queue and leave the hub at once; the stream loop sends the final
      // event if the client ever reads again, and the route tears the connection down if not.
      this.#dropped = true;
      this.#queue = [];
      this.onClose(this);
      this.#onDrop?.();
    } else {
      this.#queue.push(event);
    }
    this.#wake?.();
    return !this.#dropped;
  }

  /** Waits up to `waitMs` for events. */
  async next(waitMs: number): Promise<SubscriberBatch> {
    if (this.#closed) return { kind: "closed" };
    if (this.#dropped) return { kind: "dropped" };
    if (this.#queue.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
    if (this.#closed) return { kind: "closed" };
    if (this.#dropped) return { kind: "dropped" };
    if (this.#queue.length === 0) return { kind: "idle" };
    const events = this.#queue;
    this.#queue = [];
    return { kind: "events", events };
  }

  /** Called once if this subscriber is dropped for falling behind. */
  onDropped(listener: () => void): void {
    this.#onDrop = listener;
  }

  get dropped(): boolean {
    return this.#dropped;
  }

  get queued(): number {
    return this.#queue.length;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#wake?.();
    this.onClose(this);
  }
}

/**
 * Fans mesh events out to SSE subscribers and keeps a bounded replay buffer for `Last-Event-ID`.
 * Events arrive in bus order (one Redis channel, or the in-process bus), so every subscriber sees
 * the same order.
 */
export class StreamHub {
  readonly #replay: MeshEvent[] = [];
  readonly #subscribers = new Set<Subscriber>();
  readonly #capacity: number;
  readonly #queueLimit: number;
  #dropped = 0;

  constructor(options: StreamHubOptions = {}) {
    this.#capacity = options.replayCapacity ?? 1000;
    this.#queueLimit = options.subscriberQueueLimit ?? 500;
  }

  ingest(event: MeshEvent): void {
    this.#replay.push(event);
    if (this.#replay.length > this.#capacity) this.#replay.splice(0, this.#replay.length - this.#capacity);
    for (const s of [...this.#subscribers]) {
      if (!s.push(event)) this.#dropped++;
    }
  }

  /**
   * Subscribes. With `lastEventId`, the events after it in the replay buffer are queued first;
   * `gap` is true when that id is no longer (or never was) in the buffer, so the client knows it
   * may have missed events and should re-read state over the REST API.
   */
  subscribe(options: { lastEventId?: string | undefined; types?: ReadonlySet<string> | undefined } = {}) {
    const types = options.types;
    const filter = types && types.size > 0 ? (e: MeshEvent) => types.has(e.type) : undefined;
    const sub = new Subscriber(this.#queueLimit, filter, (s) => this.#subscribers.delete(s));
    let gap = false;
    if (options.lastEventId) {
      const idx = this.#replay.findIndex((e) => e.id === options.lastEventId);
      gap = idx < 0;
      const backlog = gap ? [] : this.#replay.slice(idx + 1);
      for (const e of backlog) sub.push(e);
    }
    this.#subscribers.add(sub);
    return { subscriber: sub, gap };
  }

  stats() {
    return { subscribers: this.#subscribers.size, replay: this.#replay.length, dropped: this.#dropped };
  }

  closeAll(): void {
    for (const s of [...this.#subscribers]) s.close();
  }
}
