import { Redis } from "ioredis";

/**
 * Agent liveness: the last time each agent was heard from (heartbeat or long-poll). Kept out of
 * SQLite so a fleet's heartbeats cost a memory write (embedded) or one pipelined HSET (split)
 * instead of a disk write each; only state changes reach the database.
 */
export interface LivenessStore {
  touch(agentId: string, at: number): Promise<void>;
  lastSeen(agentId: string): Promise<number | null>;
  all(): Promise<Map<string, number>>;
  remove(agentId: string): Promise<void>;
  close(): Promise<void>;
}

export class MemoryLivenessStore implements LivenessStore {
  readonly #seen = new Map<string, number>();

  async touch(agentId: string, at: number): Promise<void> {
    this.#seen.set(agentId, Math.max(at, this.#seen.get(agentId) ?? 0));
  }
  async lastSeen(agentId: string): Promise<number | null> {
    return this.#seen.get(agentId) ?? null;
  }
  async all(): Promise<Map<string, number>> {
    return new Map(this.#seen);
  }
  async remove(agentId: string): Promise<void> {
    this.#seen.delete(agentId);
  }
  async close(): Promise<void> {}
}

export class RedisLivenessStore implements LivenessStore {
  readonly #redis: Redis;
  readonly #key: string;

  constructor(options: { url: string; prefix?: string; onError?: (err: unknown) => void }) {
    this.#key = `${options.prefix ?? "m3shd"}:liveness`;
    this.#redis = new Redis(options.url, { enableAutoPipelining: true });
    this.#redis.on("error", (err) => options.onError?.(err));
  }

  async touch(agentId: string, at: number): Promise<void> {
    await this.#redis.hset(this.#key, agentId, String(at));
  }
  async lastSeen(agentId: string): Promise<number | null> {
    const v = await this.#redis.hget(this.#key, agentId);
    return v === null ? null : Number(v);
  }
  async all(): Promise<Map<string, number>> {
    const h = await this.#redis.hgetall(this.#key);
    return new Map(Object.entries(h).map(([k, v]) => [k, Number(v)]));
  }
  async remove(agentId: string): Promise<void> {
    await this.#redis.hdel(this.#key, agentId);
  }
  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
