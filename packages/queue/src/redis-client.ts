import { Redis } from "ioredis";

/** An ioredis connection, for code outside this package that needs Redis directly. */
export type RedisClient = Redis;

/**
 * A plain Redis connection to `url` (the hub's rate-limit counters use one), so apps that do not
 * depend on ioredis themselves share this package's copy of it. Commands fail fast while the
 * connection is down instead of queueing forever; the caller decides what a failure means.
 */
export function createRedisClient(
  url: string,
  options: { onError?: (err: unknown) => void } = {},
): RedisClient {
  const client = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  client.on("error", (err) => options.onError?.(err));
  return client;
}
