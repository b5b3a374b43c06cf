import type { z } from "zod";
import {
  BadResponseError,
  describeCause,
  errorFromResponse,
  HubUnreachableError,
  isHubError,
} from "./errors";
import { backoffDelay, parseRetryAfter, sleep } from "./retry";

/** One frame of a `text/event-stream`, as the SSE spec parses it. */
export type SseFrame =
  | {
      kind: "message";
      /** The `id:` field, when the frame had one. */
      id: string | undefined;
      /** The `event:` field (`"message"` when absent). */
      event: string;
      /** The `data:` lines joined with `\n`. */
      data: string;
    }
  | { kind: "comment"; text: string }
  | { kind: "retry"; ms: number };

/**
 * Parses a byte stream as Server-Sent Events (WHATWG HTML §9.2.6): lines end with CRLF, LF or
 * CR (a CR at the end of a chunk waits for the next one, it may be half a CRLF); `field: value`
 * with one optional space after the colon; a blank line dispatches. `waiting` brackets every
 * read, so a caller can time the server's silence without counting its own slowness.
 */
export async function* readSseFrames(
  body: ReadableStream<Uint8Array>,
  waiting: { start(): void; stop(): void } = { start() {}, stop() {} },
): AsyncGenerator<SseFrame> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let id: string | undefined;
  let event = "";
  let data: string[] = [];
  let sawId = false;
  try {
    let done = false;
    while (!done) {
      waiting.start();
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } finally {
        waiting.stop();
      }
      done = chunk.done;
      buffer += done ? decoder.decode() : decoder.decode(chunk.value, { stream: true });
      for (;;) {
        const lf = buffer.indexOf("\n");
        const cr = buffer.indexOf("\r");
        let end: number;
        let next: number;
        if (cr >= 0 && (lf < 0 || cr < lf)) {
          if (cr === buffer.length - 1 && !done) break; // maybe half of a CRLF
          end = cr;
          next = buffer[cr + 1] === "\n" ? cr + 2 : cr + 1;
        } else if (lf >= 0) {
          end = lf;
          next = lf + 1;
        } else {
          break;
        }
        const line = buffer.slice(0, end);
        buffer = buffer.slice(next);
        if (line === "") {
          if (data.length > 0 || sawId) {
            yield {
              kind: "message",
              id: sawId ? id : undefined,
              event: event || "message",
              data: data.join("\n"),
            };
          }
          event = "";
          data = [];
          sawId = false;
          continue;
        }
        if (line.startsWith(":")) {
          yield { kind: "comment", text: line.slice(1).trim() };
          continue;
        }
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "data") data.push(value);
        else if (field === "event") event = value;
        else if (field === "id" && !value.includes("\0")) {
          id = value;
          sawId = true;
        } else if (field === "retry" && /^\d+$/.test(value)) yield { kind: "retry", ms: Number(value) };
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** Where a subscription stands. */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export interface ReconnectOptions {
  /** First reconnect delay (default 500 ms, or the server's `retry:`); doubles per failure. */
  baseDelayMs: number;
  /** Ceiling of one reconnect delay (default 15 s). */
  maxDelayMs: number;
  /** Consecutive failed connects before giving up (default: never give up). */
  maxRetries: number;
}

export interface SubscribeOptions<E> {
  /** Resume after this event id (sent as `Last-Event-ID` on the first connect too). */
  lastEventId?: string | undefined;
  /** Ends the subscription (state `closed`) when it aborts. */
  signal?: AbortSignal | undefined;
  headers?: Record<string, string> | undefined;
  reconnect?: Partial<ReconnectOptions> | undefined;
  /**
   * Reconnect when the server sends nothing at all — no event, no keepalive comment — for this
   * long (default 90 s: three of the hub's default 30 s keepalives).
   */
  idleTimeoutMs?: number | undefined;
  /** Callback API: called for every event, in order; the next is read when it settles. */
  onEvent?: ((event: E, frame: Extract<SseFrame, { kind: "message" }>) => void | Promise<void>) | undefined;
  onStateChange?: ((state: ConnectionState) => void) | undefined;
  /**
   * The server could not resume from `lastEventId` (it left its replay buffer): events may have
   * been missed, re-read state over the REST API.
   */
  onGap?: (() => void) | undefined;
  /** A frame whose data failed the route's event schema (skipped). */
  onInvalidEvent?: ((error: BadResponseError) => void) | undefined;
  /** A connection failed or dropped; the subscription reconnects unless the error is fatal. */
  onError?: ((error: unknown) => void) | undefined;
}

/** A live subscription to an SSE route: an async iterable of parsed events. */
export interface EventStream<E> extends AsyncIterable<E> {
  readonly state: ConnectionState;
  /** The id of the last event received: where a reconnect resumes. */
  readonly lastEventId: string | undefined;
  /** Connections made after the first. */
  readonly reconnects: number;
  /** Resolves when the first connection is open; rejects if it fails for good. */
  readonly opened: Promise<void>;
  /** Settles when the subscription ends: resolves on `close()`/abort, rejects on a fatal error. */
  readonly done: Promise<void>;
  close(): void;
}

/** Opens one connection: the client's authenticated GET with `Last-Event-ID`. */
export type SseConnect = (lastEventId: string | undefined, signal: AbortSignal) => Promise<Response>;

const DEFAULT_RECONNECT: ReconnectOptions = {
  baseDelayMs: 500,
  maxDelayMs: 15_000,
  maxRetries: Number.POSITIVE_INFINITY,
};

/**
 * A resuming SSE subscription. The first connect starts at once (so `opened` can be awaited
 * before iterating); frames are read only as the consumer pulls, so a slow consumer exerts TCP
 * backpressure instead of filling memory here — the hub drops a subscriber that falls too far
 * behind, and the reconnect resumes from the last id. A stream the server ends, a dropped
 * connection, a silent connection, a 429/5xx: reconnect with backoff (honouring `Retry-After`)
 * and `Last-Event-ID`. Any other 4xx is fatal.
 */
export class SseSubscription<E> implements EventStream<E> {
  readonly #connect: SseConnect;
  readonly #schema: z.ZodType<E>;
  readonly #request: string;
  readonly #opts: SubscribeOptions<E>;
  readonly #reconnect: ReconnectOptions;
  readonly #closer = new AbortController();
  #state: ConnectionState = "connecting";
  #lastEventId: string | undefined;
  #reconnects = 0;
  #first: Promise<ReadableStream<Uint8Array>> | null;
  #iterated = false;
  #resolveOpened: () => void = () => undefined;
  #rejectOpened: (err: unknown) => void = () => undefined;
  #resolveDone: () => void = () => undefined;
  #rejectDone: (err: unknown) => void = () => undefined;
  readonly opened: Promise<void>;
  readonly done: Promise<void>;

  constructor(connect: SseConnect, schema: z.ZodType<E>, request: string, options: SubscribeOptions<E> = {}) {
    this.#connect = connect;
    this.#schema = schema;
    this.#request = request;
    this.#opts = options;
    this.#reconnect = { ...DEFAULT_RECONNECT, ...options.reconnect };
    this.#lastEventId = options.lastEventId;
    this.opened = new Promise((resolve, reject) => {
      this.#resolveOpened = resolve;
      this.#rejectOpened = reject;
    });
    this.done = new Promise((resolve, reject) => {
      this.#resolveDone = resolve;
      this.#rejectDone = reject;
    });
    // Marked handled: a caller that only iterates sees the error there.
    this.opened.catch(() => undefined);
    this.done.catch(() => undefined);
    if (options.signal?.aborted) {
      this.#first = null;
      this.close();
      return;
    }
    options.signal?.addEventListener("abort", () => this.close(), { once: true });
    this.#first = this.#establish();
    // A fatal answer to the first connect ends the subscription even if nobody iterates yet.
    this.#first.catch((err: unknown) => {
      if (isFatal(err)) this.#fail(err);
    });
    const onEvent = options.onEvent;
    if (onEvent) {
      void (async () => {
        for await (const _ of this.#run(onEvent)) {
          // events are delivered through onEvent
        }
      })().catch(() => undefined);
    }
  }

  get state(): ConnectionState {
    return this.#state;
  }

  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  close(): void {
    if (this.#closer.signal.aborted) return;
    this.#closer.abort(new Error("subscription closed"));
    this.#controller?.abort(this.#closer.signal.reason);
    this.#setState("closed");
    this.#rejectOpened(new Error("subscription closed before it opened"));
    this.#resolveDone();
  }

  [Symbol.asyncIterator](): AsyncIterator<E> {
    if (this.#opts.onEvent) throw new TypeError("this subscription delivers events to onEvent");
    return this.#run(undefined);
  }

  #setState(state: ConnectionState) {
    if (this.#state === state || this.#state === "closed") return;
    this.#state = state;
    this.#opts.onStateChange?.(state);
  }

  /** Connects once; the controller aborts the connection (idle, close). */
  #controller: AbortController | null = null;
  #open(): Promise<Response> {
    const controller = new AbortController();
    this.#controller = controller;
    if (this.#closer.signal.aborted) controller.abort(this.#closer.signal.reason);
    return this.#connect(this.#lastEventId, controller.signal);
  }

  /** Ends the subscription on an error that reconnecting cannot fix. */
  #fatal: unknown = undefined;
  #fail(err: unknown) {
    if (this.#closer.signal.aborted) return;
    this.#fatal = err;
    this.#closer.abort(err);
    this.#controller?.abort(err);
    this.#setState("closed");
    this.#rejectOpened(err);
    this.#rejectDone(err);
  }

  /** One connection, checked: a 200 event stream, or the hub's typed error. */
  async #establish(): Promise<ReadableStream<Uint8Array>> {
    const res = await this.#open();
    if (res.status !== 200) {
      const text = await res.text().catch(() => "");
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      throw errorFromResponse(json, {
        status: res.status,
        request: this.#request,
        requestId: res.headers.get("x-request-id") ?? undefined,
        retryAfterMs: parseRetryAfter(res.headers.get("retry-after")),
      });
    }
    const type = res.headers.get("content-type") ?? "";
    if (!type.startsWith("text/event-stream") || !res.body) {
      await res.body?.cancel().catch(() => undefined);
      throw new BadResponseError(`expected text/event-stream, got ${type || "no content type"}`, {
        status: res.status,
        request: this.#request,
      });
    }
    this.#setState("open");
    this.#resolveOpened();
    return res.body;
  }

  async *#run(onEvent: SubscribeOptions<E>["onEvent"]): AsyncGenerator<E> {
    if (this.#iterated) throw new TypeError("an event stream can be iterated once");
    this.#iterated = true;
    if (this.#fatal !== undefined) throw this.#fatal;
    let failures = 0;
    let baseDelayMs = this.#reconnect.baseDelayMs;
    try {
      while (!this.#closer.signal.aborted) {
        let retryAfterMs: number | undefined;
        try {
          const pending = this.#first ?? this.#establish();
          this.#first = null;
          const body = await pending;
          const controller = this.#controller;
          const idleMs = this.#opts.idleTimeoutMs ?? 90_000;
          let idleTimer: ReturnType<typeof setTimeout> | undefined;
          const waiting = {
            start: () => {
              idleTimer = setTimeout(() => controller?.abort(new Error("no data from the server")), idleMs);
            },
            stop: () => clearTimeout(idleTimer),
          };
          for await (const frame of readSseFrames(body, waiting)) {
            failures = 0; // the connection works: the next reconnect starts from the base delay
            if (frame.kind === "retry") {
              baseDelayMs = frame.ms;
              continue;
            }
            if (frame.kind === "comment") {
              if (frame.text === "gap") this.#opts.onGap?.();
              continue;
            }
            const event = this.#parse(frame);
            if (frame.id !== undefined && !isUnbufferedEvent(event)) this.#lastEventId = frame.id;
            if (event === undefined) continue;
            if (onEvent) await onEvent(event, frame);
            else yield event;
            if (this.#closer.signal.aborted) return;
          }
          // The server ended the stream (restart, shutdown, dropped subscriber): resume.
          this.#opts.onError?.(new HubUnreachableError(this.#request, "the server closed the stream"));
        } catch (err) {
          if (this.#closer.signal.aborted) return;
          if (isFatal(err)) throw err;
          retryAfterMs = isHubError(err) ? err.retryAfterMs : undefined;
          const reported =
            err instanceof HubUnreachableError || isHubError(err)
              ? err
              : new HubUnreachableError(this.#request, describeCause(err), { cause: err });
          this.#opts.onError?.(reported);
          failures++;
          if (failures > this.#reconnect.maxRetries) throw reported;
        }
        this.#setState("reconnecting");
        const delay =
          retryAfterMs ??
          backoffDelay(Math.max(1, failures), { baseDelayMs, maxDelayMs: this.#reconnect.maxDelayMs });
        try {
          await sleep(delay, this.#closer.signal);
        } catch {
          return;
        }
        this.#reconnects++;
        this.#setState("connecting");
      }
    } catch (err) {
      this.#fail(err);
      throw err;
    } finally {
      this.close();
    }
  }

  #parse(frame: Extract<SseFrame, { kind: "message" }>): E | undefined {
    if (frame.data === "") return undefined;
    let json: unknown;
    try {
      json = JSON.parse(frame.data);
    } catch {
      this.#opts.onInvalidEvent?.(
        new BadResponseError("event data is not JSON", { status: 200, request: this.#request }),
      );
      return undefined;
    }
    const parsed = this.#schema.safeParse(json);
    if (!parsed.success) {
      this.#opts.onInvalidEvent?.(
        new BadResponseError(`event ${frame.event} does not match its schema`, {
          status: 200,
          request: this.#request,
          details: { issues: parsed.error.issues },
        }),
      );
      return undefined;
    }
    return parsed.data;
  }
}

/** A bad token, a missing route, a wrong content type: reconnecting will not fix it. */
function isFatal(err: unknown): boolean {
  if (err instanceof BadResponseError) return true;
  return isHubError(err) && !(err.status === 408 || err.status === 429 || err.status >= 500);
}

/**
 * The hub's `subscriber_dropped` event is made for the one subscriber it drops and is not in the
 * replay buffer: resuming from its id would be a gap, so the previous id is kept.
 */
function isUnbufferedEvent(event: unknown): boolean {
  return (
    typeof event === "object" && event !== null && (event as { type?: unknown }).type === "subscriber_dropped"
  );
}
