import { connect } from "node:net";
import { schema, upsertAgent } from "@m3shd/db";
import { ErrorBodySchema } from "@m3shd/protocol";
import { describe, expect, test } from "vitest";
import { listRoutePermissions } from "../src/middleware/auth";
import { serveHub } from "../src/server";
import {
  type CallOptions,
  MASTER,
  openSession,
  SECURITY_HEADERS,
  setupPrincipals,
  startTestHub,
  type TestHub,
} from "./security-fixture";

/**
 * Fuzzing every route with random and malformed bodies, headers, path parameters and query
 * strings. The hub must answer every one of them with a status below 500 and keep serving.
 *
 * Deterministic: a seeded PRNG (override with M3SHD_FUZZ_SEED) drives every choice, and a failure
 * message names the seed and the request, so a finding can be replayed exactly. Bounded in count
 * and time so it runs with the unit tests.
 */

const SEED = Number(process.env.M3SHD_FUZZ_SEED ?? 0x5eed);
const IN_PROCESS_REQUESTS = 3000;
const OVER_HTTP_REQUESTS = 400;
const TIME_BUDGET_MS = 40_000;

/** mulberry32: tiny, fast, good enough to drive a fuzzer reproducibly. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
type Rng = ReturnType<typeof prng>;

const FIELDS = [
  "title",
  "prompt",
  "required_capability",
  "priority",
  "assign_to",
  "deadline",
  "depends_on",
  "max_attempts",
  "capabilities",
  "max_concurrent",
  "machine",
  "provider",
  "model",
  "meta",
  "name",
  "active_tasks",
  "load_avg",
  "content",
  "seq",
  "status",
  "output",
  "error",
  "usage",
  "confidence",
  "partial_output",
  "reason",
  "retryable",
  "agent_id",
  "role",
  "permissions",
  "per_minute",
  "per_day",
  "username",
  "password",
  "current_password",
  "new_password",
  "disabled",
  "cost_usd",
  "__proto__",
  "constructor",
  "",
] as const;

const QUERY_KEYS = [
  "limit",
  "cursor",
  "wait",
  "types",
  "from",
  "to",
  "after",
  "agent_id",
  "include_revoked",
  "status",
  "agent",
  "capability",
  "action",
  "actor",
  "target",
  "since",
  "until",
  "last_event_id",
  "x",
] as const;

function randomString(r: Rng): string {
  switch (r.int(12)) {
    case 0:
      return "";
    case 1:
      return "a".repeat(r.pick([64, 65, 200, 1025, 8193, 70_000]));
    case 2:
      return "\u0000\u0001\u001f\u007f";
    case 3:
      return "\ud800"; // lone surrogate
    case 4:
      return "😀".repeat(r.int(3000));
    case 5:
      return "' OR 1=1; --";
    case 6:
      return "../../etc/passwd";
    case 7:
      return r.pick(["echo", "worker", "admin", "viewer", "done", "failed", "tasks:read", "admin:tokens"]);
    case 8:
      return `task_${"0".repeat(26)}`;
    case 9:
      return "%00%zz%";
    case 10:
      return String(r.next());
    default:
      return r
        .int(1e9)
        .toString(36)
        .repeat(1 + r.int(5));
  }
}

function randomNumber(r: Rng): number {
  return r.pick([0, -1, 1, 2, 500, 501, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, 0.5, -0.0, 31, 30, 1e-9]);
}

function randomValue(r: Rng, depth: number): unknown {
  const kind = depth > 3 ? r.int(5) : r.int(8);
  switch (kind) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return randomNumber(r);
    case 3:
    case 4:
      return randomString(r);
    case 5:
      return Array.from({ length: r.int(6) }, () => randomValue(r, depth + 1));
    default:
      return randomObject(r, depth + 1);
  }
}

function randomObject(r: Rng, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = r.int(6); i > 0; i--) {
    const key = r.chance(0.85) ? r.pick(FIELDS) : randomString(r).slice(0, 50);
    out[key] = randomValue(r, depth);
  }
  return out;
}

/** A raw body: valid JSON of the wrong shape, malformed JSON, binary, deep nesting, huge. */
function randomBody(r: Rng): string | Uint8Array | undefined {
  switch (r.int(14)) {
    case 0:
      return undefined;
    case 1:
      return "";
    case 2:
      return "{";
    case 3:
      return '{"a":1,}';
    case 4:
      return "[".repeat(r.pick([100, 10_000, 100_000]));
    case 5:
      return `{"meta":${'{"a":'.repeat(5000)}1${"}".repeat(5000)}}`;
    case 6:
      return new Uint8Array(Array.from({ length: r.int(512) }, () => r.int(256)));
    case 7:
      return "\ufeff{}";
    case 8:
      return JSON.stringify(randomValue(r, 0));
    case 9:
      return "NaN";
    case 10:
      return `{"content":"${"x".repeat(r.pick([10, 70_000, 300_000]))}"}`;
    default:
      return JSON.stringify(randomObject(r));
  }
}

/** encodeURIComponent for any string: a lone surrogate (half an emoji) becomes U+FFFD first. */
function encode(value: string): string {
  return encodeURIComponent(
    value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"),
  );
}

function randomQuery(r: Rng): string {
  if (r.chance(0.3)) return "";
  const parts: string[] = [];
  for (let i = 1 + r.int(4); i > 0; i--) {
    const key = r.chance(0.9) ? r.pick(QUERY_KEYS) : "%zz";
    const value = r.chance(0.5) ? String(randomNumber(r)) : encode(randomString(r).slice(0, 3000));
    parts.push(r.chance(0.05) ? `${key}[]=${value}` : `${key}=${r.chance(0.05) ? "%E0%A4%A" : value}`);
  }
  return `?${parts.join("&")}`;
}

interface Pools {
  tokens: string[];
  ids: string[];
}

function randomPath(r: Rng, pattern: string, pools: Pools): string {
  return pattern.replace(/:(\w+)/g, () => {
    switch (r.int(6)) {
      case 0:
      case 1:
        return r.pick(pools.ids);
      case 2:
        return encode(randomString(r).slice(0, 300));
      case 3:
        return r.pick(["%", "%zz", "%00", "..", "%2F", "a%20b"]);
      default:
        return r.pick(["agent-a", "agent-worker", "x"]);
    }
  });
}

function randomHeaders(r: Rng, pools: Pools, sessionOf: () => { id: string; csrf: string }) {
  const h: Record<string, string> = {};
  // Mostly credentials that get past authentication (master half of those), so the fuzz reaches
  // validators and handlers; the rest probes the authentication layer itself.
  const auth = r.int(10);
  if (auth <= 4) h.authorization = `Bearer ${r.chance(0.5) ? MASTER : r.pick(pools.tokens)}`;
  else if (auth === 5)
    h.authorization = r.pick(["Bearer", "Basic Zm9vOmJhcg==", `Bearer ${"x".repeat(600)}`, "bearer  a b"]);
  else if (auth === 6) {
    const s = sessionOf();
    h.cookie = `m3shd_session=${s.id}`;
    if (r.chance(0.7)) h["x-csrf-token"] = r.chance(0.8) ? s.csrf : randomString(r).slice(0, 200);
  } else if (auth === 7)
    h.cookie = r.pick(["m3shd_session=", "m3shd_session=%zz;;", `m3shd_session=${"a".repeat(43)}`, "=;="]);
  h["content-type"] = r.pick([
    "application/json",
    "application/json",
    "application/json; charset=utf-8",
    "application/vnd.x+json",
    "text/plain",
    "multipart/form-data; boundary=x",
    "",
  ]);
  if (r.chance(0.3))
    h["x-m3shd-agent"] = r.pick(["agent-a", "agent-worker", "Bad Agent", "", "a".repeat(100)]);
  if (r.chance(0.1)) h["last-event-id"] = randomString(r).slice(0, 100);
  if (r.chance(0.1)) h["x-forwarded-for"] = r.pick(["1.2.3.4", "garbage", "::1, 10.0.0.1", ""]);
  if (r.chance(0.05)) h["x-request-id"] = "r".repeat(r.pick([10, 100]));
  for (const [k, v] of Object.entries(h)) {
    // A header value cannot carry control characters or non-Latin-1 text on the wire (fetch
    // refuses to send them), so the server can never see them.
    if (!isSendableHeaderValue(v)) delete h[k];
  }
  return h;
}

function isSendableHeaderValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if ((code < 0x20 && code !== 0x09) || code === 0x7f || code > 0xff) return false;
  }
  return true;
}

async function prepare(t: TestHub) {
  const principals = await setupPrincipals(t);
  upsertAgent(t.database.db, {
    id: "agent-a",
    name: "a",
    capabilities: ["echo"],
    maxConcurrent: 4,
    now: t.clock.now,
  });
  const task = await t.call("POST", "/api/tasks", {
    token: MASTER,
    body: { title: "t", prompt: "p", required_capability: "echo" },
  });
  const tokens = [
    MASTER,
    ...(["worker", "mobile", "commander", "admin", "empty", "apiKey"] as const).map(
      (n) => principals[n].token as string,
    ),
    "m3shd_ag_000000000000000000000000000000000000000000",
    "m3shd_key_",
    "garbage",
  ];
  const listed = await t.call("GET", "/api/tokens", { token: MASTER });
  // A user of its own for the fuzzer to edit or delete, so the session user survives the run.
  const victim = await t.call("POST", "/api/users", {
    token: MASTER,
    body: { username: "fuzz-victim", password: "fuzz-victim-password" },
  });
  const ids = [
    task.body.task.id,
    listed.body.agent_tokens[0].id,
    victim.body.user.id,
    "usr_01M89BYA656ZRM64XMTMSYM3QB",
    "key_01M89BYA656ZRM64XMTMSYM3QB",
  ];
  const userId = principals.session.userId as string;
  const sessionOf = () => {
    try {
      return openSession(t.hub, userId);
    } catch {
      // The fuzzer itself may have deleted that user (DELETE /api/users/:id with a pooled id).
      return { id: "x".repeat(43), csrf: "x", userId };
    }
  };
  return { pools: { tokens, ids }, sessionOf };
}

describe("fuzz", () => {
  test("thousands of random and malformed requests to every route: zero 5xx, hub still up", async () => {
    const t = await startTestHub({ config: { longPollMaxMs: 20 } });
    const { pools, sessionOf } = await prepare(t);
    const routes = listRoutePermissions(t.hub.app);
    const r = prng(SEED);
    const started = Date.now();
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;

    /**
     * Every refusal, whatever layer answers it (edge, auth, validation, a handler, Node's parser
     * via clientError), carries the error envelope with a request id, and the security headers.
     */
    let errorsChecked = 0;
    const checkError = (status: number, headers: Headers, text: string, what: string) => {
      if (status < 400) return;
      errorsChecked++;
      const parsed = (() => {
        try {
          return ErrorBodySchema.safeParse(JSON.parse(text));
        } catch {
          return null;
        }
      })();
      if (!parsed?.success)
        failures.push(`${status} without the error envelope — ${what}: ${text.slice(0, 120)}`);
      else if (!parsed.data.error.request_id)
        failures.push(`${status} envelope without request_id — ${what}`);
      if (!headers.get("x-request-id")) failures.push(`${status} without X-Request-Id — ${what}`);
      for (const [name, value] of Object.entries(SECURITY_HEADERS))
        if (headers.get(name) !== value) failures.push(`${status} without ${name} — ${what}`);
    };

    const one = async (
      send: (
        method: string,
        path: string,
        options: CallOptions,
      ) => Promise<{ status: number; headers: Headers; text: string }>,
    ) => {
      const route = routes[sent % routes.length] ?? routes[0];
      if (!route) throw new Error("no routes");
      const method = r.chance(0.05)
        ? r.pick(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
        : route.method;
      const path = randomPath(r, route.path, pools) + randomQuery(r);
      const headers = randomHeaders(r, pools, sessionOf);
      const body = method === "GET" || method === "OPTIONS" ? undefined : randomBody(r);
      sent++;
      let status: number;
      try {
        const res = await send(method, path, { headers, ...(body === undefined ? {} : { raw: body }) });
        status = res.status;
        checkError(
          res.status,
          res.headers,
          res.text,
          `seed ${SEED} #${sent} ${method} ${path.slice(0, 120)}`,
        );
      } catch (err) {
        failures.push(
          `threw ${String(err)} ${String((err as { cause?: unknown }).cause)} — ${method} ${path.slice(0, 200)} ${JSON.stringify(headers).slice(0, 200)} ${typeof body === "string" ? body.slice(0, 80) : body?.length}`,
        );
        return;
      }
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status >= 500) {
        const shown = typeof body === "string" ? body.slice(0, 120) : `<${body?.length ?? 0} bytes>`;
        failures.push(
          `${status} — seed ${SEED} #${sent} ${method} ${path.slice(0, 200)} ${JSON.stringify(headers).slice(0, 300)} ${shown}`,
        );
      }
    };

    // In process: the whole Hono stack, every route, several thousand times.
    while (sent < IN_PROCESS_REQUESTS && Date.now() - started < TIME_BUDGET_MS) {
      await one(async (method, path, options) => {
        const res = await t.call(method, path, options);
        return { status: res.status, headers: res.headers, text: res.text };
      });
    }
    const inProcess = sent;

    // Over real HTTP: the node server's own parsing is part of the edge too.
    const served = await serveHub(t.hub, { host: "127.0.0.1", port: 0 });
    try {
      while (sent < inProcess + OVER_HTTP_REQUESTS && Date.now() - started < TIME_BUDGET_MS + 10_000) {
        await one(async (method, path, options) => {
          const controller = new AbortController();
          const res = await fetch(`${served.url}${path}`, {
            method,
            headers: options.headers ?? {},
            ...(options.raw !== undefined && method !== "GET" && method !== "HEAD"
              ? { body: options.raw }
              : {}),
            signal: controller.signal,
          });
          // SSE streams never end: only an error's body is read (it is small and complete).
          const text = res.status >= 400 ? await res.text() : "";
          controller.abort();
          return { status: res.status, headers: res.headers, text };
        });
      }
      // Malformed HTTP on a raw socket: the server answers 400 or hangs up, and lives on.
      for (const raw of [
        "GARBAGE\r\n\r\n",
        "GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        `GET /${"a".repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        "POST /api/tasks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      ]) {
        await new Promise<void>((resolve) => {
          const socket = connect(served.port, "127.0.0.1", () => socket.end(raw));
          socket.on("data", () => {});
          socket.on("error", () => resolve());
          socket.on("close", () => resolve());
          socket.setTimeout(2000, () => socket.destroy());
        });
      }
      const health = await fetch(`${served.url}/api/health`);
      expect(health.status).toBe(200);
    } finally {
      await served.close();
    }

    expect(failures).toEqual([]);
    expect(inProcess).toBeGreaterThanOrEqual(1000);
    expect(errorsChecked).toBeGreaterThan(1000);
    // The fuzzer must get past the front door, not only collect 401s: every layer answers.
    for (const status of [200, 400, 401, 403, 404, 413, 415, 422]) {
      expect(statuses.get(status) ?? 0, `responses with ${status}`).toBeGreaterThan(0);
    }
    expect((await t.call("GET", "/api/health")).status).toBe(200);
    expect((await t.call("GET", "/api/tasks", { token: MASTER })).status).toBe(200);
  }, 90_000);

  test("a refused body never breaks the client's next request on the same keep-alive connection", async () => {
    // Found by the fuzzer: an early answer (401, 404, 413) to a request whose body was not read
    // left the connection stalled, and the client's next request on it died with "socket hang up".
    const t = await startTestHub();
    const served = await serveHub(t.hub, { host: "127.0.0.1", port: 0 });
    try {
      const big = JSON.stringify({ content: "x".repeat(300_000) });
      const cases: [string, Record<string, string>, number][] = [
        ["/api/tasks", {}, 401],
        ["/api/tasks", { authorization: `Bearer ${MASTER}` }, 413],
        ["/api/nope", {}, 404],
        ["/api/auth/login", {}, 413],
      ];
      for (const [path, auth, status] of cases) {
        for (let i = 0; i < 2; i++) {
          const res = await fetch(`${served.url}${path}`, {
            method: "POST",
            headers: { "content-type": "application/json", ...auth },
            body: big,
          });
          expect(res.status, path).toBe(status);
          await res.text();
          const next = await fetch(`${served.url}/api/health`);
          expect(next.status).toBe(200);
          await next.text();
        }
      }
    } finally {
      await served.close();
    }
  });

  test("parser-level errors, broken chunked bodies, deep nesting and dot segments: envelope, security headers, no 5xx", async () => {
    const t = await startTestHub();
    const served = await serveHub(t.hub, { host: "127.0.0.1", port: 0 });
    const auth = `Authorization: Bearer ${MASTER}\r\n`;
    try {
      const cases: { name: string; raw: string; status: number }[] = [
        { name: "garbage request line", raw: "GARBAGE\r\n\r\n", status: 400 },
        {
          name: "negative content-length",
          raw: "GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
          status: 400,
        },
        {
          name: "header without colon",
          raw: "GET /api/health HTTP/1.1\r\nHost: x\r\nbroken\r\n\r\n",
          status: 400,
        },
        {
          name: "request line too long",
          raw: `GET /${"a".repeat(100_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
          status: 431,
        },
        {
          name: "headers too large",
          raw: `GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`,
          status: 431,
        },
        {
          name: "malformed chunk size (authenticated write)",
          raw: `POST /api/tasks HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
          status: 400,
        },
        {
          name: "chunk longer than announced",
          raw: `PUT /api/context/k HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{"value":1}\r\n0\r\n\r\n`,
          status: 400,
        },
        ...["%2e%2e", "%2E%2E", "%2e.", ".%2E", "%2e", ".."].map((seg) => ({
          name: `dot segment ${seg}`,
          raw: `GET /api/agents/${seg}/memory/search?q=x HTTP/1.1\r\nHost: x\r\n${auth}Connection: close\r\n\r\n`,
          status: 400,
        })),
      ];
      for (const c of cases) {
        const res = await rawRequest(served.port, c.raw);
        expect(res.status, `${c.name}: ${res.head}`).toBe(c.status);
        expectEnvelopeAndHeaders(res, c.name);
      }

      // ~2,000 levels deep (the fuzz finding on PUT /api/context/:key) and a little over the cap.
      for (const depth of [2000, 65]) {
        const body = `{"value":${"[".repeat(depth)}${"]".repeat(depth)}}`;
        const res = await fetch(`${served.url}/api/context/deep`, {
          method: "PUT",
          headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
          body,
        });
        expect(res.status, `depth ${depth}`).toBe(413);
        const env = ErrorBodySchema.parse(await res.json());
        expect(env.error.code).toBe("payload_too_large");
        expect(env.error.request_id).toBeTruthy();
        for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(k), k).toBe(v);
      }
      // Under the cap it is an ordinary value.
      const ok = await fetch(`${served.url}/api/context/shallow`, {
        method: "PUT",
        headers: { authorization: `Bearer ${MASTER}`, "content-type": "application/json" },
        body: `{"value":${"[".repeat(30)}${"]".repeat(30)}}`,
      });
      expect(ok.status).toBeLessThan(300);

      // The broken bodies were the client's fault: no audit row says 500.
      const rows = t.database.db.select().from(schema.auditLog).all();
      expect(rows.filter((r) => / 5\d\d$/.test(r.action)).map((r) => r.action)).toEqual([]);
      expect((await fetch(`${served.url}/api/health`)).status).toBe(200);
    } finally {
      await served.close();
    }
  }, 60_000);
});

interface RawResponse {
  status: number;
  head: string;
  headers: Map<string, string>;
  body: string;
}

/** Sends bytes on a fresh socket and reads the first response until the server closes. */
function rawRequest(port: number, raw: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, "127.0.0.1", () => socket.write(raw));
    socket.on("data", (d: Buffer) => chunks.push(d));
    socket.on("error", () => undefined); // a reset after the answer is fine; the answer is what counts
    socket.setTimeout(5000, () => socket.destroy());
    socket.on("close", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const split = text.indexOf("\r\n\r\n");
      if (split < 0)
        return reject(new Error(`no HTTP response to ${raw.slice(0, 80)}: ${JSON.stringify(text)}`));
      const head = text.slice(0, split);
      const [statusLine, ...lines] = head.split("\r\n");
      const headers = new Map<string, string>();
      for (const line of lines) {
        const i = line.indexOf(":");
        headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
      }
      let body = text.slice(split + 4);
      if (headers.get("transfer-encoding") === "chunked") body = dechunk(body);
      const contentLength = Number(headers.get("content-length"));
      if (Number.isFinite(contentLength) && contentLength >= 0)
        body = Buffer.from(body).subarray(0, contentLength).toString();
      resolve({ status: Number(statusLine?.split(" ")[1]), head, headers, body });
    });
  });
}

function dechunk(body: string): string {
  let out = "";
  let rest = body;
  for (;;) {
    const nl = rest.indexOf("\r\n");
    const size = Number.parseInt(rest.slice(0, nl), 16);
    if (!size) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
}

function expectEnvelopeAndHeaders(res: RawResponse, name: string) {
  expect(res.headers.get("content-type"), name).toMatch(/^application\/json/);
  const env = ErrorBodySchema.parse(JSON.parse(res.body));
  expect(env.error.request_id, name).toBeTruthy();
  expect(res.headers.get("x-request-id"), name).toBe(env.error.request_id);
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(k), `${name}: ${k}`).toBe(v);
}
