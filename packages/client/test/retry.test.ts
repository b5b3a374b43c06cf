import { RateLimitedError, UnavailableError } from "@m3shd/protocol";
import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  createClient,
  type HubError,
  HubUnreachableError,
  parseRetryAfter,
} from "../src/index";
import { scriptedServer } from "./helpers";

const TASK = {
  id: "task_01JAAAAAAAAAAAAAAAAAAAAAAA",
  title: "t",
  prompt: "p",
  required_capability: "echo",
};

const rateLimited = (retryAfter: string) => (res: import("node:http").ServerResponse) =>
  res
    .writeHead(429, { "content-type": "application/json", "retry-after": retryAfter })
    .end(JSON.stringify({ error: { code: "rate_limited", message: "slow down", request_id: "req_1" } }));

describe("parseRetryAfter", () => {
  it("reads delta-seconds and HTTP dates", () => {
    const now = Date.parse("2030-01-01T00:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("0", now)).toBe(0);
    expect(parseRetryAfter("Tue, 01 Jan 2030 00:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Mon, 31 Dec 2029 23:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it("backs off exponentially with bounded jitter", () => {
    const opts = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(1, opts, () => 0)).toBe(50);
    expect(backoffDelay(1, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(400);
    expect(backoffDelay(10, opts, () => 1)).toBe(1000);
    expect(backoffDelay(10, opts, () => 0)).toBe(500);
  });
});

describe("retries against a real HTTP server", () => {
  it("waits out a 429's Retry-After in seconds, then succeeds", async () => {
    const server = await scriptedServer((_req, res, i) => {
      if (i === 0) rateLimited("1")(res);
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ chunks: [] }));
    });
    const client = createClient({ baseUrl: server.url, retry: { baseDelayMs: 1 } });
    const started = Date.now();
    const res = await client.tasks.chunks({ params: { id: TASK.id } });
    expect(res.body.chunks).toEqual([]);
    expect(server.requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("honours a Retry-After given as an HTTP date", async () => {
    let retryAt = 0;
    const server = await scriptedServer((_req, res, i) => {
      if (i === 0) {
        retryAt = Math.ceil((Date.now() + 1000) / 1000) * 1000; // the next whole second, ≥ 1 s away
        rateLimited(new Date(retryAt).toUTCString())(res);
      } else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ chunks: [] }));
    });
    const client = createClient({ baseUrl: server.url, retry: { baseDelayMs: 1 } });
    await client.tasks.chunks({ params: { id: TASK.id } });
    expect(server.requests).toHaveLength(2);
    expect(Date.now()).toBeGreaterThanOrEqual(retryAt - 50);
  });

  it("retries a POST on 503 (it was not processed) with backoff, and gives up bounded", async () => {
    const times: number[] = [];
    const server = await scriptedServer((_req, res) => {
      times.push(Date.now());
      res
        .writeHead(503, { "content-type": "application/json" })
        .end(JSON.stringify({ error: { code: "unavailable", message: "draining", request_id: "req_9" } }));
    });
    const client = createClient({
      baseUrl: server.url,
      retry: { retries: 3, baseDelayMs: 40, maxDelayMs: 1000 },
    });
    const err = await client.tasks
      .create({ body: { title: "t", prompt: "p", required_capability: "echo" } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as HubError).status).toBe(503);
    expect((err as HubError).requestId).toBe("req_9");
    expect(server.requests.map((r) => r.method)).toEqual(["POST", "POST", "POST", "POST"]);
    // Each gap is at least half its doubling step: 20, 40, 80 ms.
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
    expect(gaps[0]).toBeGreaterThanOrEqual(15);
    expect(gaps[1]).toBeGreaterThanOrEqual(35);
    expect(gaps[2]).toBeGreaterThanOrEqual(75);
  });

  it("does not wait for a Retry-After beyond its bound: the error says how long", async () => {
    const server = await scriptedServer((_req, res) => rateLimited("3600")(res));
    const client = createClient({ baseUrl: server.url });
    const err = await client.tasks.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as HubError).retryAfterMs).toBe(3_600_000);
    expect((err as RateLimitedError).retryAfterSeconds).toBe(3600);
    expect(server.requests).toHaveLength(1);
  });

  it("after a connection reset: retries a GET or PUT, never a POST unless the call opts in", async () => {
    let answerFrom = Number.POSITIVE_INFINITY;
    const server = await scriptedServer((req, res, i) => {
      if (i < answerFrom) {
        req.socket.destroy(); // the request reached the server; the answer never comes back
        return;
      }
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ attempt: 1, seq: 0, duplicate: true }));
    });
    const client = createClient({ baseUrl: server.url, retry: { baseDelayMs: 5 } });
    const post = await client.tasks
      .stream({ params: { id: TASK.id }, body: { content: "x", seq: 0, attempt: 1 } })
      .catch((e: unknown) => e);
    expect(post).toBeInstanceOf(HubUnreachableError);
    expect(server.requests).toHaveLength(1);

    await expect(client.tasks.list()).rejects.toBeInstanceOf(HubUnreachableError);
    expect(server.requests).toHaveLength(4);

    answerFrom = server.requests.length + 1; // the next one fails, the retry succeeds
    const ok = await client.tasks.stream({
      params: { id: TASK.id },
      body: { content: "x", seq: 0, attempt: 1 },
      idempotent: true,
    });
    expect(ok.body.duplicate).toBe(true);
    expect(server.requests.slice(-2).map((r) => r.method)).toEqual(["POST", "POST"]);

    const noRetry = createClient({ baseUrl: server.url, retry: false });
    answerFrom = Number.POSITIVE_INFINITY;
    const before = server.requests.length;
    await expect(noRetry.tasks.list()).rejects.toBeInstanceOf(HubUnreachableError);
    expect(server.requests.length - before).toBe(1);
  });

  it("a server that does not answer in time is an unreachable error with timedOut", async () => {
    const server = await scriptedServer(() => {
      // never answers
    });
    const client = createClient({ baseUrl: server.url, timeoutMs: 200, retry: false });
    const err = await client.tasks.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HubUnreachableError);
    expect((err as HubUnreachableError).timedOut).toBe(true);
  });
});
