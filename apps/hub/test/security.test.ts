import { statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { sha256Hex } from "@m3shd/crypto";
import { getAgent, transitionTask, upsertAgent } from "@m3shd/db";
import { ErrorBodySchema, LIMITS } from "@m3shd/protocol";
import { describe, expect } from "vitest";
import {
  AuditListResponseSchema,
  CreatedApiKeyResponseSchema,
  LoginResponseSchema,
  MintedAgentTokenResponseSchema,
  UserSchema,
} from "../src/schemas/security";
import { SEED_ADMIN_PASSWORD_FILE } from "../src/services/users";
import {
  type CallResult,
  MASTER,
  openSession,
  SECURITY_HEADERS,
  startTestHub,
  T0,
  type TestHub,
  secTest as test,
} from "./security-fixture";

const TASK = { title: "t", prompt: "p", required_capability: "echo" };

async function mint(t: TestHub, agentId: string, body: Record<string, unknown> = { role: "worker" }) {
  const res = await t.call("POST", "/api/tokens", { token: MASTER, body: { agent_id: agentId, ...body } });
  expect(res.status).toBe(201);
  return MintedAgentTokenResponseSchema.parse(res.body);
}

async function runningTaskOn(t: TestHub, agent: string): Promise<string> {
  const created = await t.call("POST", "/api/tasks", { token: MASTER, body: TASK });
  const id = created.body.task.id as string;
  const db = t.database.db;
  if (!getAgent(db, agent)) {
    upsertAgent(db, { id: agent, name: agent, capabilities: ["echo"], maxConcurrent: 8, now: t.clock.now });
  }
  transitionTask(db, { id, from: "queued", to: "assigned", set: { assignedTo: agent }, now: t.clock.now });
  transitionTask(db, {
    id,
    from: "assigned",
    to: "running",
    set: { attempts: 1, attempt: 1 },
    now: t.clock.now,
  });
  return id;
}

function expectError(res: CallResult, status: number, code?: string) {
  expect(res.status, res.text).toBe(status);
  const body = ErrorBodySchema.parse(res.body);
  if (code) expect(body.error.code).toBe(code);
  expect(body.error.request_id).toBeTruthy();
}

async function createUser(t: TestHub, username: string, password: string, role = "user") {
  const res = await t.call("POST", "/api/users", { token: MASTER, body: { username, password, role } });
  expect(res.status, res.text).toBe(201);
  return UserSchema.parse(res.body.user);
}

async function login(t: TestHub, username: string, password: string, env?: unknown) {
  return t.call("POST", "/api/auth/login", { body: { username, password }, env });
}

/** The session id from a login response's Set-Cookie. */
function sessionCookie(res: CallResult): { id: string; csrf: string; raw: string[] } {
  const raw = res.headers.getSetCookie();
  const id = /m3shd_session=([^;]*)/.exec(raw.join("\n"))?.[1] ?? "";
  const csrf = /m3shd_csrf=([^;]*)/.exec(raw.join("\n"))?.[1] ?? "";
  return { id, csrf, raw };
}

describe("agent tokens", () => {
  test("are shown once, stored only as a SHA-256 hash, and scoped to one agent", async ({ t }) => {
    const minted = await mint(t, "w1");
    expect(minted.token).toMatch(/^m3shd_ag_[0-9A-Za-z]{43}$/);
    expect(minted.agent_token).toMatchObject({ agent_id: "w1", revoked_at: null });
    const rows = t.database.sqlite.prepare("select * from agent_tokens").all() as Record<string, unknown>[];
    const dump = JSON.stringify(rows);
    expect(dump).not.toContain(minted.token);
    expect(rows[0]?.token_hash).toBe(sha256Hex(minted.token));
    // The listing never shows the token or its hash again.
    const listed = await t.call("GET", "/api/tokens", { token: MASTER });
    expect(JSON.stringify(listed.body)).not.toContain(minted.token);
    expect(JSON.stringify(listed.body)).not.toContain(sha256Hex(minted.token));
    // It works for its agent.
    const reg = await t.call("POST", "/api/agents/w1/register", {
      token: minted.token,
      body: { capabilities: ["echo"], max_concurrent: 1 },
    });
    expect(reg.status).toBe(200);
  });

  test("an empty permission set grants nothing", async ({ t }) => {
    const { token } = await mint(t, "nobody", {});
    for (const [method, path] of [
      ["GET", "/api/tasks"],
      ["GET", "/api/agents"],
      ["GET", "/api/agents/nobody/tasks/next"],
    ] as const) {
      expectError(await t.call(method, path, { token }), 403, "forbidden");
    }
    expect((await t.call("GET", "/api/health", { token })).status).toBe(200);
  });

  test("revocation takes effect on the very next request", async ({ t }) => {
    const minted = await mint(t, "w1");
    expect((await t.call("GET", "/api/tasks", { token: minted.token })).status).toBe(200);
    const revoked = await t.call("DELETE", `/api/tokens/${minted.agent_token.id}`, { token: MASTER });
    expect(revoked.status).toBe(200);
    expect(revoked.body.agent_token.revoked_at).toBe(t.clock.now);
    expectError(await t.call("GET", "/api/tasks", { token: minted.token }), 401, "unauthorized");
    // Revoking again is harmless; an unknown id is a 404.
    expect((await t.call("DELETE", `/api/tokens/${minted.agent_token.id}`, { token: MASTER })).status).toBe(
      200,
    );
    expectError(
      await t.call("DELETE", "/api/tokens/tok_01M89BYA656ZRM64XMTMSYM3QB", { token: MASTER }),
      404,
      "not_found",
    );
    const listed = await t.call("GET", "/api/tokens?include_revoked=true", { token: MASTER });
    expect(listed.body.agent_tokens[0].revoked_at).toBe(t.clock.now);
    expect((await t.call("GET", "/api/tokens", { token: MASTER })).body.agent_tokens).toEqual([]);
  });

  test("a token may not grant more than its holder has, and only master mints the first admin token", async ({
    t,
  }) => {
    // A seeded admin *user* holds every permission, yet cannot bootstrap the first minting credential.
    const admin = await createUser(t, "boss", "boss-password-123", "admin");
    const session = openSession(t.hub, admin.id);
    expectError(
      await t.call("POST", "/api/tokens", { session, body: { agent_id: "ops", role: "admin" } }),
      403,
      "forbidden",
    );
    // …but it can mint non-admin tokens.
    expect(
      (await t.call("POST", "/api/tokens", { session, body: { agent_id: "w9", role: "worker" } })).status,
    ).toBe(201);
    // The master token can; after that, admins can mint further admin tokens.
    const first = await mint(t, "ops", { role: "admin" });
    expect(
      (await t.call("POST", "/api/tokens", { session, body: { agent_id: "ops2", role: "admin" } })).status,
    ).toBe(201);
    // A narrow minting token cannot grant what it lacks (no escalation).
    const narrow = await mint(t, "minter", { permissions: ["admin:tokens", "tasks:read"] });
    const escalate = await t.call("POST", "/api/tokens", {
      token: narrow.token,
      body: { agent_id: "x", permissions: ["tasks:write"] },
    });
    expectError(escalate, 403, "forbidden");
    expect(escalate.body.error.details).toEqual({ permissions: ["tasks:write"] });
    expect(
      (
        await t.call("POST", "/api/tokens", {
          token: narrow.token,
          body: { agent_id: "x", permissions: ["tasks:read"] },
        })
      ).status,
    ).toBe(201);
    expect(first.agent_token.permissions).toHaveLength(17);
  });
});

describe("IDOR: a worker acts only for its own agent", () => {
  test("register, heartbeat, pull, stream, complete and handoff for another agent are 403", async ({ t }) => {
    const a = await mint(t, "agent-a");
    await mint(t, "agent-b");
    const taskOfB = await runningTaskOn(t, "agent-b");
    upsertAgent(t.database.db, {
      id: "agent-a",
      name: "a",
      capabilities: ["echo"],
      maxConcurrent: 2,
      now: t.clock.now,
    });
    const attempts: [string, string, unknown?, Record<string, string>?][] = [
      ["POST", "/api/agents/agent-b/register", { capabilities: ["echo"], max_concurrent: 1 }],
      ["POST", "/api/agents/agent-b/heartbeat", { active_tasks: 0 }],
      ["GET", "/api/agents/agent-b/tasks/next"],
      ["POST", `/api/tasks/${taskOfB}/stream`, { content: "stolen", attempt: 1 }],
      ["PUT", `/api/tasks/${taskOfB}`, { status: "done", output: "stolen", attempt: 1 }],
      ["POST", `/api/tasks/${taskOfB}/handoff`, { partial_output: "stolen", attempt: 1 }],
      // Claiming to be B in the header changes nothing: the token is bound to A.
      [
        "POST",
        `/api/tasks/${taskOfB}/stream`,
        { content: "stolen", attempt: 1 },
        { "x-m3shd-agent": "agent-b" },
      ],
      [
        "PUT",
        `/api/tasks/${taskOfB}`,
        { status: "done", output: "stolen", attempt: 1 },
        { "x-m3shd-agent": "agent-b" },
      ],
      [
        "POST",
        `/api/tasks/${taskOfB}/handoff`,
        { partial_output: "x", attempt: 1 },
        { "x-m3shd-agent": "agent-b" },
      ],
    ];
    for (const [method, path, body, headers] of attempts) {
      const res = await t.call(method, path, { token: a.token, body, headers: headers ?? {} });
      expectError(res, 403, "forbidden");
    }
    // Nothing happened to B's task.
    const task = (await t.call("GET", `/api/tasks/${taskOfB}`, { token: MASTER })).body.task;
    expect(task).toMatchObject({ status: "running", assigned_to: "agent-b", output: null });
    expect((await t.call("GET", `/api/tasks/${taskOfB}/chunks`, { token: MASTER })).body.chunks).toEqual([]);
    // The same calls on A's own task succeed.
    const taskOfA = await runningTaskOn(t, "agent-a");
    expect(
      (
        await t.call("POST", `/api/tasks/${taskOfA}/stream`, {
          token: a.token,
          body: { content: "mine", attempt: 1 },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await t.call("PUT", `/api/tasks/${taskOfA}`, {
          token: a.token,
          body: { status: "done", output: "ok", attempt: 1 },
        })
      ).status,
    ).toBe(200);
    // Memory: A's token reaches only A's memories, whatever path it names.
    const secret = await t.call("POST", "/api/agents/agent-b/memory", {
      token: MASTER,
      body: { key: "b-secret", value: "only for b" },
    });
    expect(secret.status).toBe(201);
    const memoryAttempts: [string, string, unknown?][] = [
      ["GET", "/api/agents/agent-b/memory"],
      ["GET", "/api/agents/agent-b/memory/search?q=only"],
      ["POST", "/api/agents/agent-b/memory", { key: "planted", value: "x" }],
      ["DELETE", "/api/agents/agent-b/memory/b-secret"],
      ["GET", "/api/memory/search?q=only"],
      ["POST", "/api/memory/consolidate", { agent_id: "agent-b" }],
    ];
    for (const [method, path, body] of memoryAttempts) {
      const res = await t.call(method, path, { token: a.token, body });
      expectError(res, 403, "forbidden");
    }
    const bMemory = await t.call("GET", "/api/agents/agent-b/memory", { token: MASTER });
    expect(JSON.stringify(bMemory.body)).toContain("b-secret");
    expect(JSON.stringify(bMemory.body)).not.toContain("planted");
    expect(
      (
        await t.call("POST", "/api/agents/agent-a/memory", {
          token: a.token,
          body: { key: "mine", value: "ok" },
        })
      ).status,
    ).toBe(201);
  });

  test("a user or API key cannot act for an agent without agents:write", async ({ t }) => {
    const key = await t.call("POST", "/api/keys", {
      token: MASTER,
      body: { name: "ci", role: "worker" },
    });
    const taskOfB = await runningTaskOn(t, "agent-b");
    const res = await t.call("PUT", `/api/tasks/${taskOfB}`, {
      token: key.body.key,
      body: { status: "done", output: "x", attempt: 1 },
      headers: { "x-m3shd-agent": "agent-b" },
    });
    expectError(res, 403, "forbidden");
  });
});

describe("API keys", () => {
  test("CRUD: created once in plaintext, listed with usage, updated, revoked at once", async ({ t }) => {
    const created = await t.call("POST", "/api/keys", {
      token: MASTER,
      body: { name: "grafana", permissions: ["tasks:read"], per_minute: 100, per_day: 1000 },
    });
    expect(created.status).toBe(201);
    const { key, api_key } = CreatedApiKeyResponseSchema.parse(created.body);
    expect(key).toMatch(/^m3shd_key_[0-9A-Za-z]{43}$/);
    expect(JSON.stringify(t.database.sqlite.prepare("select * from api_keys").all())).not.toContain(key);
    for (let i = 0; i < 3; i++) expect((await t.call("GET", "/api/tasks", { token: key })).status).toBe(200);
    expectError(await t.call("POST", "/api/tasks", { token: key, body: TASK }), 403, "forbidden");
    const got = await t.call("GET", `/api/keys/${api_key.id}`, { token: MASTER });
    expect(got.body.api_key.usage).toMatchObject({
      requests_total: 4,
      requests_today: 4,
      usage_day: "2026-11-25",
      current_minute: 4,
      current_day: 4,
    });
    const patched = await t.call("PATCH", `/api/keys/${api_key.id}`, {
      token: MASTER,
      body: { permissions: ["tasks:read", "tasks:write"], per_minute: null },
    });
    expect(patched.body.api_key).toMatchObject({
      per_minute: null,
      permissions: ["tasks:read", "tasks:write"],
    });
    expect((await t.call("POST", "/api/tasks", { token: key, body: TASK })).status).toBe(201);
    expect((await t.call("DELETE", `/api/keys/${api_key.id}`, { token: MASTER })).status).toBe(200);
    expectError(await t.call("GET", "/api/tasks", { token: key }), 401, "unauthorized");
    expectError(
      await t.call("PATCH", `/api/keys/${api_key.id}`, { token: MASTER, body: { name: "x" } }),
      404,
    );
  });

  test("per-minute cap: 429 with Retry-After until the minute ends, then open again", async ({ t }) => {
    const created = await t.call("POST", "/api/keys", {
      token: MASTER,
      body: { name: "burst", permissions: ["tasks:read"], per_minute: 3 },
    });
    const key = created.body.key;
    t.clock.now = T0 + 12 * 3600_000 + 15_000; // 15 s into a minute
    for (let i = 0; i < 3; i++) expect((await t.call("GET", "/api/tasks", { token: key })).status).toBe(200);
    const limited = await t.call("GET", "/api/tasks", { token: key });
    expectError(limited, 429, "rate_limited");
    expect(limited.headers.get("retry-after")).toBe("45");
    // A refused write is audited under the key, not as anonymous.
    const refused = await t.call("POST", "/api/tasks", { token: key, body: TASK });
    expectError(refused, 429);
    const audit = await t.call("GET", "/api/audit?action=POST%20/api/tasks%20429", { token: MASTER });
    expect(audit.body.entries[0].actor).toBe(`key:${created.body.api_key.id}`);
    for (const [h, v] of Object.entries(SECURITY_HEADERS)) expect(limited.headers.get(h)).toBe(v);
    t.clock.now += 45_000;
    expect((await t.call("GET", "/api/tasks", { token: key })).status).toBe(200);
    // Refused requests are not counted as usage.
    const got = await t.call("GET", `/api/keys/${created.body.api_key.id}`, { token: MASTER });
    expect(got.body.api_key.usage.requests_total).toBe(4);
    expect(got.body.api_key.usage.current_minute).toBe(1);
  });

  test("per-day cap: 429 until the UTC day ends", async ({ t }) => {
    const created = await t.call("POST", "/api/keys", {
      token: MASTER,
      body: { name: "daily", permissions: ["tasks:read"], per_day: 2 },
    });
    const key = created.body.key;
    t.clock.now = T0 + 23 * 3600_000; // 23:00 UTC
    expect((await t.call("GET", "/api/tasks", { token: key })).status).toBe(200);
    t.clock.now += 120_000; // a new minute, same day
    expect((await t.call("GET", "/api/tasks", { token: key })).status).toBe(200);
    t.clock.now += 120_000;
    const limited = await t.call("GET", "/api/tasks", { token: key });
    expectError(limited, 429, "rate_limited");
    expect(Number(limited.headers.get("retry-after"))).toBe(3600 - 240);
    t.clock.now = T0 + 24 * 3600_000; // midnight
    expect((await t.call("GET", "/api/tasks", { token: key })).status).toBe(200);
    const got = await t.call("GET", `/api/keys/${created.body.api_key.id}`, { token: MASTER });
    expect(got.body.api_key.usage).toMatchObject({
      requests_total: 3,
      requests_today: 1,
      usage_day: "2026-11-26",
    });
  });
});

describe("users and sessions", () => {
  test("users: PBKDF2-SHA256 at 310,000 iterations, roles, no hash in any answer", async ({ t }) => {
    const user = await createUser(t, "alice", "alice-password-1", "viewer");
    const row = t.database.sqlite.prepare("select password_hash from users where id = ?").get(user.id) as {
      password_hash: string;
    };
    expect(row.password_hash).toMatch(/^pbkdf2_sha256\$310000\$/);
    const list = await t.call("GET", "/api/users", { token: MASTER });
    expect(JSON.stringify(list.body)).not.toContain("pbkdf2");
    expectError(
      await t.call("POST", "/api/users", {
        token: MASTER,
        body: { username: "alice", password: "x".repeat(12) },
      }),
      409,
      "conflict",
    );
    expectError(
      await t.call("POST", "/api/users", { token: MASTER, body: { username: "bob", password: "short" } }),
      422,
    );
    // A viewer reads but cannot write.
    const viewer = openSession(t.hub, user.id);
    expect((await t.call("GET", "/api/tasks", { session: viewer })).status).toBe(200);
    expectError(await t.call("POST", "/api/tasks", { session: viewer, body: TASK }), 403, "forbidden");
  });

  test("login sets HttpOnly SameSite=Strict cookies; logout revokes the session at once", async ({ t }) => {
    await createUser(t, "carol", "carol-password-1");
    const res = await login(t, "carol", "carol-password-1");
    expect(res.status, res.text).toBe(200);
    const body = LoginResponseSchema.parse(res.body);
    expect(body.expires_at).toBe(t.clock.now + 24 * 3600_000);
    const cookie = sessionCookie(res);
    const sessionLine = cookie.raw.find((c) => c.startsWith("m3shd_session="));
    expect(sessionLine).toMatch(/; Max-Age=86400/);
    expect(sessionLine).toMatch(/; Path=\//);
    expect(sessionLine).toMatch(/; HttpOnly/);
    expect(sessionLine).toMatch(/; SameSite=Strict/);
    expect(sessionLine).not.toMatch(/Secure/); // not behind TLS in this test
    const csrfLine = cookie.raw.find((c) => c.startsWith("m3shd_csrf="));
    expect(csrfLine).not.toMatch(/HttpOnly/);
    expect(cookie.csrf).toBe(body.csrf_token);
    // The database holds only hashes of the session id and CSRF token.
    const stored = JSON.stringify(t.database.sqlite.prepare("select * from sessions").all());
    expect(stored).not.toContain(cookie.id);
    expect(stored).toContain(sha256Hex(cookie.id));
    expect(stored).not.toContain(body.csrf_token);

    const session = { id: cookie.id, csrf: body.csrf_token, userId: body.user.id };
    expect((await t.call("POST", "/api/tasks", { session, body: TASK })).status).toBe(201);
    expect((await t.call("POST", "/api/auth/logout", { session })).status).toBe(204);
    expectError(await t.call("GET", "/api/tasks", { session }), 401, "unauthorized");
  });

  test("behind TLS the cookies are Secure and __Host- prefixed", async () => {
    const t = await startTestHub({ config: { behindTls: true } });
    await createUser(t, "dave", "dave-password-12");
    const res = await login(t, "dave", "dave-password-12");
    const lines = res.headers.getSetCookie();
    expect(lines.find((l) => l.startsWith("__Host-m3shd_session="))).toMatch(
      /HttpOnly.*Secure|Secure.*HttpOnly/,
    );
    expect(lines.find((l) => l.startsWith("__Host-m3shd_csrf="))).toMatch(/Secure/);
    const id = /__Host-m3shd_session=([^;]*)/.exec(lines.join("\n"))?.[1];
    // The unprefixed cookie (which a sibling subdomain could plant) is not accepted behind TLS.
    const plain = await t.call("GET", "/api/tasks", { headers: { cookie: `m3shd_session=${id}` } });
    expect(plain.status).toBe(401);
    const prefixed = await t.call("GET", "/api/tasks", { headers: { cookie: `__Host-m3shd_session=${id}` } });
    expect(prefixed.status).toBe(200);
  });

  test("sessions expire after 24 h, and dead ones are purged a TTL later", async ({ t }) => {
    const user = await createUser(t, "erin", "erin-password-12");
    const session = openSession(t.hub, user.id, 24 * 3600_000);
    expect((await t.call("GET", "/api/tasks", { session })).status).toBe(200);
    t.clock.now += 24 * 3600_000 - 1;
    expect((await t.call("GET", "/api/tasks", { session })).status).toBe(200);
    t.clock.now += 1;
    expectError(await t.call("GET", "/api/tasks", { session }), 401);
    const count = () =>
      (t.database.sqlite.prepare("select count(*) as n from sessions").get() as { n: number }).n;
    expect(count()).toBe(1);
    t.clock.now += 24 * 3600_000;
    expect((await login(t, "erin", "erin-password-12")).status).toBe(200);
    expect(count()).toBe(1); // the expired one is gone, the new one is there
  });

  test("CSRF: cookie-authenticated writes need the session's token; reads and bearer calls do not", async ({
    t,
  }) => {
    const user = await createUser(t, "frank", "frank-password-1");
    const session = openSession(t.hub, user.id);
    const other = openSession(t.hub, user.id);
    expectError(await t.call("POST", "/api/tasks", { session, csrf: null, body: TASK }), 403, "forbidden");
    expectError(
      await t.call("POST", "/api/tasks", { session, csrf: "forged", body: TASK }),
      403,
      "forbidden",
    );
    // Another session's token does not fit this session.
    expectError(await t.call("POST", "/api/tasks", { session, csrf: other.csrf, body: TASK }), 403);
    expectError(await t.call("POST", "/api/auth/logout", { session, csrf: null }), 403);
    expect((await t.call("GET", "/api/tasks", { session, csrf: null })).status).toBe(200);
    expect((await t.call("POST", "/api/tasks", { session, body: TASK })).status).toBe(201);
    // A bearer token is never combined with the cookie: a bad token does not fall back to it.
    const mixed = await t.call("GET", "/api/tasks", { session, token: "m3shd_ag_bogus" });
    expect(mixed.status).toBe(401);
    expect(
      (await t.call("GET", "/api/tasks", { session, headers: { authorization: "Basic x" } })).status,
    ).toBe(401);
    // A cross-site form can only send form or text bodies: the JSON-only edge refuses them (no login CSRF).
    for (const type of [
      "application/x-www-form-urlencoded",
      "text/plain",
      "multipart/form-data; boundary=x",
    ]) {
      const forged = await t.call("POST", "/api/auth/login", {
        raw: "username=frank&password=frank-password-1",
        headers: { "content-type": type },
      });
      expectError(forged, 415, "unsupported_media_type");
    }
  });

  test("disabling a user or changing their password ends their sessions", async ({ t }) => {
    const user = await createUser(t, "gina", "gina-password-12");
    const s1 = openSession(t.hub, user.id);
    expect(
      (await t.call("PATCH", `/api/users/${user.id}`, { token: MASTER, body: { disabled: true } })).status,
    ).toBe(200);
    expectError(await t.call("GET", "/api/tasks", { session: s1 }), 401);
    expect((await login(t, "gina", "gina-password-12")).status).toBe(401);
    await t.call("PATCH", `/api/users/${user.id}`, { token: MASTER, body: { disabled: false } });
    const s2 = openSession(t.hub, user.id);
    const changed = await t.call("POST", "/api/auth/password", {
      session: s2,
      body: { current_password: "gina-password-12", new_password: "gina-password-new" },
    });
    expect(changed.status, changed.text).toBe(200);
    expectError(await t.call("GET", "/api/tasks", { session: s2 }), 401);
    expect((await login(t, "gina", "gina-password-12")).status).toBe(401);
    expect((await login(t, "gina", "gina-password-new")).status).toBe(200);
    const wrong = await t.call("POST", "/api/auth/password", {
      session: openSession(t.hub, user.id),
      body: { current_password: "nope-nope-nope", new_password: "whatever-long-1" },
    });
    expectError(wrong, 403);
  });

  test("an admin cannot lock themselves out", async ({ t }) => {
    const admin = await createUser(t, "root", "root-password-12", "admin");
    const session = openSession(t.hub, admin.id);
    expectError(await t.call("DELETE", `/api/users/${admin.id}`, { session }), 403);
    expectError(await t.call("PATCH", `/api/users/${admin.id}`, { session, body: { role: "viewer" } }), 403);
  });
});

describe("login throttling", () => {
  test("5 failures per IP per 5 minutes: the 6th attempt is a 429, and the window resets", async ({ t }) => {
    await createUser(t, "hank", "hank-password-12");
    const from = (ip: string) => ({ incoming: { socket: { remoteAddress: ip } } });
    t.clock.now = T0 + 12 * 3600_000 + 10_000; // 10 s into a 5-minute window
    for (let i = 1; i <= 5; i++) {
      expectError(await login(t, "hank", `wrong-${i}`, from("10.0.0.1")), 401, "unauthorized");
    }
    const sixth = await login(t, "hank", "wrong-6", from("10.0.0.1"));
    expectError(sixth, 429, "rate_limited");
    expect(sixth.headers.get("retry-after")).toBe("290");
    // Even the right password is refused while throttled (no oracle for the attacker).
    expectError(await login(t, "hank", "hank-password-12", from("10.0.0.1")), 429);
    // Another address is not affected; an unknown user counts as a failure like any other.
    expect((await login(t, "hank", "hank-password-12", from("10.0.0.2"))).status).toBe(200);
    // Just before the window ends: still throttled. At its end: open again.
    t.clock.now = T0 + 12 * 3600_000 + 300_000 - 1;
    expectError(await login(t, "hank", "hank-password-12", from("10.0.0.1")), 429);
    t.clock.now += 1;
    expect((await login(t, "hank", "hank-password-12", from("10.0.0.1"))).status).toBe(200);
  });

  test("successful logins do not count; unknown users do", async ({ t }) => {
    await createUser(t, "ivy", "ivy-password-123");
    for (let i = 0; i < 6; i++) expect((await login(t, "ivy", "ivy-password-123")).status).toBe(200);
    for (let i = 0; i < 5; i++) expectError(await login(t, `ghost-${i}`, "whatever"), 401);
    expectError(await login(t, "ivy", "ivy-password-123"), 429);
  });

  test("the client IP comes from X-Forwarded-For only when the proxy is trusted", async () => {
    const trusted = await startTestHub({ config: { trustProxy: true } });
    await createUser(trusted, "jo", "jo-password-1234");
    for (let i = 0; i < 5; i++) {
      await login(trusted, "jo", "bad", undefined).then((r) => expect(r.status).toBe(401));
    }
    // Same socket (none), different forwarded client: a separate counter.
    const viaProxy = await trusted.call("POST", "/api/auth/login", {
      body: { username: "jo", password: "jo-password-1234" },
      headers: { "x-forwarded-for": "spoofed, 203.0.113.9" },
    });
    expect(viaProxy.status).toBe(200);
    // Untrusted (default): the header is ignored, so it cannot be used to dodge the limit.
    const plain = await startTestHub();
    await createUser(plain, "jo", "jo-password-1234");
    for (let i = 0; i < 5; i++) await login(plain, "jo", "bad");
    const dodge = await plain.call("POST", "/api/auth/login", {
      body: { username: "jo", password: "jo-password-1234" },
      headers: { "x-forwarded-for": "203.0.113.10" },
    });
    expectError(dodge, 429);
  });
});

describe("seed admin", () => {
  test("first run creates `admin` with a generated password in a 0600 file, written once", async () => {
    const first = await startTestHub();
    const dataDir = join(first.dir, "data");
    const seeded = await startTestHub({ config: { dataDir }, dbPath: join(first.dir, "shared.db") });
    const { seedAdminPasswordFile } = await seeded.hub.ready;
    expect(seedAdminPasswordFile).toBe(join(dataDir, SEED_ADMIN_PASSWORD_FILE));
    const file = join(dataDir, SEED_ADMIN_PASSWORD_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const password = (await readFile(file, "utf8")).trim();
    expect(password.length).toBeGreaterThanOrEqual(32);
    const res = await login(seeded, "admin", password);
    expect(res.status).toBe(200);
    expect(res.body.user.role).toBe("admin");
    // A second start on the same database seeds nothing and leaves the file alone.
    const again = await startTestHub({ config: { dataDir }, dbPath: join(first.dir, "shared.db") });
    expect((await again.hub.ready).seedAdminPasswordFile).toBeNull();
    expect((await readFile(file, "utf8")).trim()).toBe(password);
    expect((await again.call("GET", "/api/users", { token: MASTER })).body.users).toHaveLength(1);
  });
});

describe("audit log", () => {
  test("every mutating request is recorded — actor, action, target, time, IP, payload digest", async ({
    t,
  }) => {
    const worker = await mint(t, "w1");
    const payload = JSON.stringify(TASK);
    const created = await t.call("POST", "/api/tasks", {
      token: worker.token,
      raw: payload,
      headers: { "content-type": "application/json" },
      env: { incoming: { socket: { remoteAddress: "::ffff:192.0.2.7" } } },
    });
    expect(created.status).toBe(201);
    const cancelled = await t.call("POST", `/api/tasks/${created.body.task.id}/cancel`, {
      token: MASTER,
      body: { reason: "audit" },
    });
    expect(cancelled.status).toBe(200);
    expectError(await t.call("POST", "/api/tasks", { body: TASK }), 401); // refused: still audited
    await login(t, "nobody", "secret-password-never-stored");
    await t.call("GET", "/api/tasks", { token: MASTER }); // reads are not audited

    const res = await t.call("GET", "/api/audit?limit=500", { token: MASTER });
    const { entries } = AuditListResponseSchema.parse(res.body);
    const actions = entries.map((e) => `${e.actor} ${e.action}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        "agent:w1 POST /api/tasks 201",
        "master POST /api/tasks/:id/cancel 200",
        "anonymous POST /api/tasks 401",
        "anonymous POST /api/auth/login 401",
        "master POST /api/tokens 201",
      ]),
    );
    expect(actions.some((a) => a.startsWith("master GET"))).toBe(false);
    const create = entries.find((e) => e.action === "POST /api/tasks 201");
    expect(create).toMatchObject({ ip: "192.0.2.7", ts: t.clock.now, payload_sha256: sha256Hex(payload) });
    const cancel = entries.find((e) => e.action.startsWith("POST /api/tasks/:id/cancel"));
    expect(cancel?.target).toBe(created.body.task.id);
    expect(entries.find((e) => e.action.startsWith("POST /api/auth/login"))?.target).toBe("nobody");
    // The log keeps digests, never bodies: the password above is nowhere in the table.
    expect(JSON.stringify(t.database.sqlite.prepare("select * from audit_log").all())).not.toContain(
      "secret-password-never-stored",
    );
  });

  test("admins filter and page through it; nobody else reads it", async ({ t }) => {
    for (let i = 0; i < 5; i++) {
      t.clock.now += 1000;
      await t.call("POST", "/api/tasks", { token: MASTER, body: TASK });
    }
    const page1 = await t.call("GET", "/api/audit?action=POST%20/api/tasks%20201&limit=2", { token: MASTER });
    expect(page1.body.entries).toHaveLength(2);
    expect(page1.body.entries[0].ts).toBeGreaterThan(page1.body.entries[1].ts);
    const page2 = await t.call(
      "GET",
      `/api/audit?action=POST%20/api/tasks&limit=2&cursor=${page1.body.next_cursor}`,
      {
        token: MASTER,
      },
    );
    expect(page2.body.entries[0].ts).toBeLessThan(page1.body.entries[1].ts);
    const since = await t.call("GET", `/api/audit?actor=master&since=${t.clock.now}`, { token: MASTER });
    expect(since.body.entries).toHaveLength(1);
    expectError(await t.call("GET", "/api/audit?cursor=nope", { token: MASTER }), 422);
    expectError(await t.call("GET", "/api/audit?limit=501", { token: MASTER }), 422);
    const commander = await mint(t, "c1", { role: "commander" });
    expectError(await t.call("GET", "/api/audit", { token: commander.token }), 403);
  });
});

describe("security headers", () => {
  test("exact values on success, error, 204, 404, 413 and SSE responses", async ({ t }) => {
    upsertAgent(t.database.db, {
      id: "w",
      name: "w",
      capabilities: ["x"],
      maxConcurrent: 1,
      now: t.clock.now,
    });
    const responses = [
      await t.call("GET", "/api/health"),
      await t.call("GET", "/api/tasks"),
      await t.call("GET", "/api/nope", { token: MASTER }),
      await t.call("GET", "/api/agents/w/tasks/next?wait=0", { token: MASTER }),
      await t.call("POST", "/api/tasks", {
        token: MASTER,
        raw: "x".repeat(200_000),
        headers: { "content-type": "application/json" },
      }),
      await t.call("GET", "/api/stream", { token: MASTER }),
    ];
    expect(responses.map((r) => r.status)).toEqual([200, 401, 404, 204, 413, 200]);
    for (const res of responses) {
      for (const [header, value] of Object.entries(SECURITY_HEADERS)) {
        expect(res.headers.get(header), `${res.status} ${header}`).toBe(value);
      }
    }
  });
});

describe("input limits at the edge", () => {
  test("every limit answers 413 or 422 with the error envelope, never 500", async ({ t }) => {
    const h = { "x-m3shd-agent": "w1" };
    const running = await runningTaskOn(t, "w1");
    const json = { "content-type": "application/json" };
    const cases: [string, string, Partial<Parameters<TestHub["call"]>[2]>, number][] = [
      // Prompts: 8 KB (UTF-8) → 422 naming the field; a raw body over the ceiling → 413 before parsing.
      ["POST", "/api/tasks", { body: { ...TASK, prompt: "p".repeat(LIMITS.promptBytes + 1) } }, 422],
      ["POST", "/api/tasks", { raw: "x".repeat(4 * LIMITS.promptBytes + 17 * 1024), headers: json }, 413],
      // Stream chunks: 64 KB.
      [
        "POST",
        `/api/tasks/${running}/stream`,
        { body: { content: "c".repeat(LIMITS.streamChunkBytes + 1), attempt: 1 }, headers: h },
        422,
      ],
      [
        "POST",
        `/api/tasks/${running}/stream`,
        { raw: "x".repeat(5 * LIMITS.streamChunkBytes), headers: { ...json, ...h } },
        413,
      ],
      // Handoff partial output: 32 KB.
      [
        "POST",
        `/api/tasks/${running}/handoff`,
        { body: { partial_output: "h".repeat(LIMITS.handoffPartialBytes + 1), attempt: 1 }, headers: h },
        422,
      ],
      [
        "POST",
        `/api/tasks/${running}/handoff`,
        { raw: "x".repeat(5 * LIMITS.handoffPartialBytes), headers: { ...json, ...h } },
        413,
      ],
      // Messages: 50 KB.
      ["POST", "/api/messages", { body: { content: "m".repeat(LIMITS.messageBytes + 1) } }, 422],
      ["POST", "/api/messages", { raw: "x".repeat(4 * LIMITS.messageBytes + 5 * 1024), headers: json }, 413],
      ["GET", "/api/messages?limit=501", {}, 422],
      // List limits ≤ 500.
      ["GET", "/api/tasks?limit=501", {}, 422],
      ["GET", "/api/audit?limit=501", {}, 422],
      // Agent ids ^[a-z0-9-]{1,64}$.
      ["POST", "/api/agents/Bad_Agent/register", { body: { capabilities: ["x"], max_concurrent: 1 } }, 422],
      ["POST", `/api/agents/${"a".repeat(65)}/heartbeat`, { body: { active_tasks: 0 } }, 422],
      ["POST", "/api/tokens", { body: { agent_id: "UPPER" } }, 422],
      // Security API bodies.
      ["POST", "/api/users", { raw: "x".repeat(17 * 1024), headers: json }, 413],
      ["POST", "/api/auth/login", { raw: "x".repeat(9 * 1024), headers: json }, 413],
      ["POST", "/api/keys", { body: { name: "k", per_minute: 0 } }, 422],
      ["POST", "/api/users", { body: { username: "u", password: "p".repeat(1025) } }, 422],
    ];
    for (const [method, path, options, status] of cases) {
      const res = await t.call(method, path, { token: MASTER, ...options });
      expect(res.status, `${method} ${path}: ${res.text.slice(0, 200)}`).toBe(status);
      const body = ErrorBodySchema.parse(res.body);
      expect(body.error.code).toBe(status === 413 ? "payload_too_large" : "validation_failed");
    }
    // The 413 comes from the declared Content-Length, before a byte of the body is buffered.
    const declared = await t.call("POST", "/api/tasks", {
      token: MASTER,
      raw: "{}",
      headers: { ...json, "content-length": String(10 * 1024 * 1024) },
    });
    expect(declared.status).toBe(413);
  });
});
