import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { createQueueRuntime, createRedisClient } from "@m3shd/queue";
import { describe, expect, onTestFinished, test } from "vitest";
import { type Clock, MASTER, startTestHub, T0, type TestHub } from "./security-fixture";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * Two hub processes of one mesh: separate hub instances with their own queue runtimes and Redis
 * connections, sharing the SQLite file, the Redis server and the key prefix (unique per test,
 * deleted afterwards) — exactly what two `node dist/index.js` behind a load balancer share.
 */
async function twoHubs(): Promise<[TestHub, TestHub]> {
  const prefix = `m3shd-sec-${randomUUID()}`;
  const cleanup = createRedisClient(REDIS_URL);
  onTestFinished(async () => {
    let cursor = "0";
    do {
      const [next, keys] = await cleanup.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      if (keys.length > 0) await cleanup.del(...keys);
      cursor = next;
    } while (cursor !== "0");
    cleanup.disconnect();
  });
  const clock: Clock = { now: T0 + 12 * 3600_000 };
  const config = { redisUrl: REDIS_URL, redisPrefix: prefix };
  const qa = await createQueueRuntime({ redisUrl: REDIS_URL, prefix });
  const qb = await createQueueRuntime({ redisUrl: REDIS_URL, prefix });
  onTestFinished(async () => {
    await qa.close();
    await qb.close();
  });
  const a = await startTestHub({ queue: qa, config, clock });
  const b = await startTestHub({ queue: qb, config, clock, dbPath: join(a.dir, "hub.db") });
  expect([a.hub.limits.store, b.hub.limits.store]).toEqual(["redis", "redis"]);
  return [a, b];
}

describe("rate limits shared through Redis", () => {
  test("an API key's per-minute and per-day caps hold across two hub processes", async () => {
    const [a, b] = await twoHubs();
    const minute = await a.call("POST", "/api/keys", {
      token: MASTER,
      body: { name: "burst", permissions: ["tasks:read"], per_minute: 4 },
    });
    const key = minute.body.key;
    a.clock.now += 5_000;
    const hubs = [a, b, a, b];
    for (const hub of hubs) expect((await hub.call("GET", "/api/tasks", { token: key })).status).toBe(200);
    // Four requests spread over two processes used the whole minute: both refuse the fifth.
    for (const hub of [b, a]) {
      const res = await hub.call("GET", "/api/tasks", { token: key });
      expect(res.status).toBe(429);
      expect(res.body.error.code).toBe("rate_limited");
      expect(res.headers.get("retry-after")).toBe("55");
    }
    a.clock.now += 55_000;
    expect((await b.call("GET", "/api/tasks", { token: key })).status).toBe(200);

    const daily = await b.call("POST", "/api/keys", {
      token: MASTER,
      body: { name: "daily", permissions: ["tasks:read"], per_day: 3 },
    });
    for (const hub of [a, b, a]) {
      expect((await hub.call("GET", "/api/tasks", { token: daily.body.key })).status).toBe(200);
      a.clock.now += 61_000; // each in its own minute: only the day cap can bite
    }
    for (const hub of [b, a]) {
      expect((await hub.call("GET", "/api/tasks", { token: daily.body.key })).status).toBe(429);
    }
    // Usage totals are one row in the shared database, counted by both processes.
    const got = await a.call("GET", `/api/keys/${daily.body.api_key.id}`, { token: MASTER });
    expect(got.body.api_key.usage).toMatchObject({ requests_total: 3, current_day: 5 });
  });

  test("login throttling is per IP across processes too", async () => {
    const [a, b] = await twoHubs();
    await a.call("POST", "/api/users", {
      token: MASTER,
      body: { username: "kim", password: "kim-password-123" },
    });
    const env = { incoming: { socket: { remoteAddress: "198.51.100.4" } } };
    const login = (hub: TestHub, password: string) =>
      hub.call("POST", "/api/auth/login", { body: { username: "kim", password }, env });
    for (const hub of [a, b, a, b, a]) expect((await login(hub, "wrong")).status).toBe(401);
    expect((await login(b, "kim-password-123")).status).toBe(429);
    a.clock.now += 300_000;
    expect((await login(b, "kim-password-123")).status).toBe(200);
  });

  test("an unreachable Redis degrades to per-process counting, never to an error", async () => {
    // Nothing listens on port 1: every limiter command fails and the in-process fallback counts.
    const t = await startTestHub({ config: { redisUrl: "redis://127.0.0.1:1", redisPrefix: "m3shd-down" } });
    const created = await t.call("POST", "/api/keys", {
      token: MASTER,
      body: { name: "k", permissions: ["tasks:read"], per_minute: 2 },
    });
    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await t.call("GET", "/api/tasks", { token: created.body.key })).status);
    expect(statuses).toEqual([200, 200, 429]);
  });
});
