import { Redis } from "ioredis";

/**
 * Cross-process event bus. Producers publish JSON events; every subscriber in every process sees
 * them in publish order. In the embedded mode it is an in-process fan-out; split, it is one Redis
 * pub/sub channel, so events published by the dispatcher reach SSE subscribers on any hub.
 * Delivery is at-most-once: consumers that must not miss work (the dispatcher) also poll the
 * database on a timer.
 */
export interface EventBus {
  publish(event: unknown): Promise<void>;
  /** Returns an unsubscribe function. Handlers are called in publish order. */
  subscribe(handler: (event: unknown) => void): () => void;
  close(): Promise<void>;
}

export class MemoryEventBus implements EventBus {
  readonly #handlers = new Set<(event: unknown) => void>();

  async publish(event: unknown): Promise<void> {
    // Serialize like Redis would, so a handler can never mutate the publisher's object.
    const json = JSON.stringify(event);
    for (const h of this.#handlers) h(JSON.parse(json));
  }

  subscribe(handler: (event: unknown) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.#handlers.clear();
  }
}

export interface RedisEventBusOptions {
  url: string;
  /** Channel prefix; the channel is `<prefix>:events`. */
  prefix?: string;
  onError?: (err: unknown) => void;
}

export class RedisEventBus implements EventBus {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #channel: string;
  readonly #handlers = new Set<(event: unknown) => void>();
  readonly #ready: Promise<unknown>;

  constructor(options: RedisEventBusOptions) {
    this.#channel = `${options.prefix ?? "m3shd"}:events`;
    this.#pub = new Redis(options.url, { enableAutoPipelining: true });
    this.#sub = new Redis(options.url);
    for (const c of [this.#pub, this.#sub]) c.on("error", (err) => options.onError?.(err));
    this.#sub.on("message", (channel: string, message: string) => {
      if (channel !== this.#channel) return;
      let event: unknown;
      try {
        event = JSON.parse(message);
      } catch (err) {
        options.onError?.(err);
        return;
      }
      for (const h of this.#handlers) h(event);
    });
    this.#ready = this.#sub.subscribe(this.#channel);
  }

  /** Resolves once the subscription is active (events published before that are not seen). */
  ready(): Promise<unknown> {
    return this.#ready;
  }

  async publish(event: unknown): Promise<void> {
    await this.#pub.publish(this.#channel, JSON.stringify(event));
  }

  subscribe(handler: (event: unknown) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  async close(): Promise<void> {
    this.#handlers.clear();
    this.#pub.disconnect();
    this.#sub.disconnect();
  }
}
