import { LIMITS } from "@m3shd/protocol";
import { utf8Bytes, utf8Prefix } from "./text";

/** What sending one chunk came to. */
export type SendOutcome = "sent" | "gone" | "retry";

export interface ChunkStreamerOptions {
  /** Posts one chunk; `gone` means the task is no longer ours (cancelled, reclaimed). */
  send(content: string, seq: number): Promise<SendOutcome>;
  /** Called once when `send` reports `gone`. */
  onGone(): void;
  /** Send at most this long after text arrives… */
  flushMs: number;
  /** …or at once when this many bytes are waiting. */
  flushBytes: number;
  /** Stop streaming (the final output still goes out on completion) past this much unsent text. */
  maxPendingBytes?: number;
  /** Wait after a failed send. */
  retryMs?: number;
}

/**
 * Batches streamed text into chunk POSTs so a fast model does not cause thousands of tiny
 * requests: text is sent every `flushMs`, or as soon as `flushBytes` are waiting, one request at a
 * time, in order, numbered from 0. A chunk that fails to send is kept and re-sent under the same
 * `seq`, so a POST that reached the hub but lost its answer is recognised there as a duplicate.
 * Streaming is best effort: the completion carries the full output regardless.
 */
export class ChunkStreamer {
  readonly #opts: Required<ChunkStreamerOptions>;
  #full = "";
  #pending = "";
  #seq = 0;
  #timer: NodeJS.Timeout | undefined;
  #inflight: Promise<void> | null = null;
  #stopped = false;
  #chunksSent = 0;

  constructor(options: ChunkStreamerOptions) {
    this.#opts = { maxPendingBytes: 1024 * 1024, retryMs: 1000, ...options };
  }

  /** All text pushed so far. */
  get text(): string {
    return this.#full;
  }

  /** Chunks the hub accepted. */
  get chunksSent(): number {
    return this.#chunksSent;
  }

  push(text: string): void {
    if (text.length === 0) return;
    this.#full += text;
    if (this.#stopped) return;
    this.#pending += text;
    if (utf8Bytes(this.#pending) > this.#opts.maxPendingBytes) {
      // The hub has been unreachable for a long while: stop buffering for the stream.
      this.#stopped = true;
      this.#pending = "";
      this.#clearTimer();
      return;
    }
    if (utf8Bytes(this.#pending) >= this.#opts.flushBytes) this.#kick(0);
    else this.#kick(this.#opts.flushMs);
  }

  #clearTimer() {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #kick(delayMs: number) {
    if (this.#inflight || this.#stopped) return; // the running send re-arms when it finishes
    if (this.#timer && delayMs > 0) return;
    this.#clearTimer();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#inflight = this.#sendOne().then((outcome) => {
        this.#inflight = null;
        if (this.#stopped || this.#pending.length === 0) return;
        // More waiting, or a failed send: go again — at once if a full batch is ready.
        if (outcome === "retry") this.#kick(this.#opts.retryMs);
        else this.#kick(utf8Bytes(this.#pending) >= this.#opts.flushBytes ? 0 : this.#opts.flushMs);
      });
    }, delayMs);
  }

  async #sendOne(): Promise<SendOutcome> {
    if (this.#stopped || this.#pending.length === 0) return "sent";
    const content = utf8Prefix(this.#pending, LIMITS.streamChunkBytes);
    const outcome = await this.#opts.send(content, this.#seq).catch((): SendOutcome => "retry");
    if (outcome === "gone") {
      this.#stopped = true;
      this.#pending = "";
      this.#opts.onGone();
    } else if (outcome === "sent") {
      this.#pending = this.#pending.slice(content.length);
      this.#seq++;
      this.#chunksSent++;
    }
    return outcome;
  }

  /**
   * Sends what is left (one try per remaining chunk, in order) and stops. Resolves when done; the
   * caller bounds how long it waits.
   */
  async close(): Promise<void> {
    this.#clearTimer();
    if (this.#inflight) await this.#inflight;
    this.#clearTimer();
    while (!this.#stopped && this.#pending.length > 0) {
      const before = this.#pending.length;
      await this.#sendOne();
      this.#clearTimer();
      if (this.#pending.length === before) break; // the hub is not taking chunks right now
    }
    this.#stopped = true;
    this.#clearTimer();
  }
}
