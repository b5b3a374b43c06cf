import { createRedisClient, type RedisClient } from "@m3shd/queue";
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterSQLite,
} from "rate-limiter-flexible";
import type { HubContext } from "../context";

/**
 * Fixed-window counters for rate limits, on `rate-limiter-flexible`: in Redis when the hub has a
 * Redis URL (one counter per key for every hub process of the mesh, incremented atomically by the
 * library's Lua script), in process otherwise.
 *
 * Windows are aligned to the hub's clock (`ctx.now()`): the counter key carries the window's index,
 * `floor(now / windowMs)`, so a new window is a new key and the old one simply expires. That keeps
 * the clock injectable (tests move time instead of sleeping), makes a day cap a UTC day, and lets
 * `Retry-After` be exact: the end of the current window.
 *
 * The library's own `points` comparison is not used: caps differ per API key and can be edited
 * while counters run, so each limiter only counts (`points` = effectively infinite) and the caller
 * compares the count with the cap that applies right now.
 */
export class WindowCounter {
  constructor(
    private readonly limiter: RateLimiterAbstract,
    /** Window length in ms. */
    readonly windowMs: number,
  ) {}

  #key(subject: string, now: number): string {
    return `${subject}:${Math.floor(now / this.windowMs)}`;
  }

  /** When the window containing `now` ends (epoch ms). */
  windowEnd(now: number): number {
    return (Math.floor(now / this.windowMs) + 1) * this.windowMs;
  }

  /** Counts one hit for `subject` in the current window; resolves to the count including it. */
  async hit(subject: string, now: number): Promise<number> {
    const res = await this.limiter.consume(this.#key(subject, now), 1);
    return res.consumedPoints;
  }

  /** The current window's count, without counting. */
  async peek(subject: string, now: number): Promise<number> {
    const res = await this.limiter.get(this.#key(subject, now));
    return res?.consumedPoints ?? 0;
  }

  /** Takes one hit back (a request that turned out not to count). */
  async unhit(subject: string, now: number): Promise<void> {
    await this.limiter.reward(this.#key(subject, now), 1);
  }
}

/** The hub's rate-limit counters. */
export interface HubLimits {
  /** Requests per API key per minute. */
  apiKeyMinute: WindowCounter;
  /** Requests per API key per UTC day. */
  apiKeyDay: WindowCounter;
  /** Failed logins per client IP per login window. */
  loginFailures: WindowCounter;
  /** Deliveries per inbound webhook per minute. */
  webhookMinute: WindowCounter;
  /** Where the counters live (login failures: SQLite instead of memory when there is no Redis). */
  store: "redis" | "memory";
  close(): void;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
// Counters never reject by themselves (see WindowCounter); this only has to exceed any real count.
const UNBOUNDED_POINTS = 2 ** 31 - 1;

/** Builds the counters: Redis-backed when `ctx.config.redisUrl` is set, in-process otherwise. */
export function createHubLimits(ctx: HubContext, loginWindowMs: number): HubLimits {
  const redisUrl = ctx.config.redisUrl;
  const prefix = `${ctx.config.redisPrefix ?? "m3shd"}:rl`;
  let redis: RedisClient | null = null;
  if (redisUrl) {
    redis = createRedisClient(redisUrl, {
      onError: (err) => ctx.logger.warn({ err }, "rate-limit redis error"),
    });
  }
  const make = (name: string, windowMs: number): WindowCounter => {
    // The key lives at least one full window after its first hit (Redis/in-memory TTL in real
    // seconds), which always covers the rest of the clock window it belongs to.
    const duration = Math.ceil(windowMs / 1000);
    const memory = new RateLimiterMemory({
      keyPrefix: `${prefix}:${name}`,
      points: UNBOUNDED_POINTS,
      duration,
    });
    if (!redis) return new WindowCounter(memory, windowMs);
    const limiter = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${prefix}:${name}`,
      points: UNBOUNDED_POINTS,
      duration,
      // When a command fails (Redis unreachable; the client gives up after one retry), count in
      // this process instead of failing the request: caps then hold per process, weaker but never
      // worse than no limit. Commands issued while the client is still connecting wait for it
      // rather than going to the fallback, so a fresh hub counts in Redis from its first request.
      insuranceLimiter: memory,
    });
    return new WindowCounter(limiter, windowMs);
  };
  /**
   * Without Redis, login failures are counted in the hub's own SQLite (`rate_limits`, from the
   * migrations, in the layout the library's SQLite store uses): an attacker who can make the hub
   * restart — or just waits for a deploy — must not get a fresh budget of guesses. Failed logins
   * are rare, so a write each costs nothing; API key caps stay in memory (a write per request).
   */
  const persistent = (name: string, windowMs: number): WindowCounter => {
    if (redis) return make(name, windowMs);
    const limiter = new RateLimiterSQLite({
      storeClient: ctx.database.sqlite,
      storeType: "better-sqlite3",
      tableName: "rate_limits",
      tableCreated: true,
      keyPrefix: `${prefix}:${name}`,
      points: UNBOUNDED_POINTS,
      duration: Math.ceil(windowMs / 1000),
    });
    return new WindowCounter(limiter, windowMs);
  };
  return {
    apiKeyMinute: make("key-minute", MINUTE_MS),
    apiKeyDay: make("key-day", DAY_MS),
    loginFailures: persistent("login-fail", loginWindowMs),
    webhookMinute: make("webhook-minute", MINUTE_MS),
    store: redis ? "redis" : "memory",
    close() {
      redis?.disconnect();
    },
  };
}

/** Seconds until `end`, at least 1 (a `Retry-After` of 0 would invite an immediate retry). */
export function secondsUntil(end: number, now: number): number {
  return Math.max(1, Math.ceil((end - now) / 1000));
}

/** The UTC day (`YYYY-MM-DD`) of an epoch-ms instant. */
export function utcDay(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}
