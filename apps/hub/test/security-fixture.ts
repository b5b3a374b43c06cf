import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hashToken } from "@m3shd/crypto";
import { insertSession, type OpenedDatabase, openDatabase, upsertAgent } from "@m3shd/db";
import { createInProcessMemoryClient, createMemoryService, generateKek } from "@m3shd/memory";
import { PERMISSIONS, type Permission, ROLE_PRESETS } from "@m3shd/protocol";
import { createQueueRuntime, type QueueRuntime } from "@m3shd/queue";
import { type Logger, pino } from "pino";
import { test as base, onTestFinished } from "vitest";
import { type CreateHubOptions, createHub, type Hub } from "../src/app";
import { DEFAULT_HUB_CONFIG, type HubConfig } from "../src/context";
import { USER_ROLE_PERMISSIONS } from "../src/services/permissions";
import { assertContract } from "./contract";
import { MASTER } from "./fixture";

export { MASTER };

/** Start of the test clock: a 5-minute and a day boundary, so windows start fresh. */
export const T0 = Date.UTC(2026, 10, 25, 0, 0, 0);

export interface Clock {
  now: number;
}

export interface TestHubOptions {
  config?: Partial<HubConfig>;
  /** Share a database file with another hub (two processes on one data volume). */
  dbPath?: string;
  /** A queue runtime of the caller's (e.g. Redis-backed); closed by the caller. */
  queue?: QueueRuntime;
  clock?: Clock;
  /** The hub's logger (default: silent, or `M3SHD_TEST_LOG`'s level). */
  logger?: Logger;
  /** Options of `createHub` (an embedder's plugin modules, …). */
  hubOptions?: CreateHubOptions;
}

export interface TestHub {
  hub: Hub;
  clock: Clock;
  dir: string;
  database: OpenedDatabase;
  call: Caller;
}

/**
 * A hub on a fresh SQLite file (or a shared one), in-process queues unless given a runtime, the
 * default authenticator chain and a settable clock. Closed when the test ends.
 */
export async function startTestHub(options: TestHubOptions = {}): Promise<TestHub> {
  const dir = mkdtempSync(join(tmpdir(), "m3shd-sec-"));
  const clock = options.clock ?? { now: T0 + 12 * 3600_000 };
  const database = openDatabase({ path: options.dbPath ?? join(dir, "hub.db") });
  const ownQueue = options.queue ? null : await createQueueRuntime();
  const queue = options.queue ?? (ownQueue as QueueRuntime);
  // A real in-process memory service, so the memory routes answer as in production.
  const memoryService = createMemoryService({
    dbPath: join(dir, "memory.db"),
    kek: generateKek(),
    recoveryPublicKey: null,
  });
  const hub = createHub(
    {
      memory: { client: createInProcessMemoryClient(memoryService), topK: 5, charBudget: 2000 },
      database,
      queue,
      logger: options.logger ?? pino({ level: process.env.M3SHD_TEST_LOG ?? "silent" }),
      now: () => clock.now,
      startedAt: clock.now,
      config: {
        ...DEFAULT_HUB_CONFIG,
        masterToken: MASTER,
        provenanceKey: Buffer.alloc(32, 1),
        longPollMaxMs: 200,
        ...options.config,
      },
    },
    options.hubOptions,
  );
  onTestFinished(async () => {
    hub.close();
    await ownQueue?.close();
    memoryService.close();
    database.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { hub, clock, dir, database, call: caller(hub) };
}

export interface CallOptions {
  body?: unknown;
  raw?: string | Uint8Array;
  /** Bearer token; default none (unlike the route tests' helper). */
  token?: string | null;
  /** A session to send as cookie (with its CSRF token in the header unless `csrf` says otherwise). */
  session?: TestSession | null;
  /** Override the CSRF header (null: do not send one). */
  csrf?: string | null;
  headers?: Record<string, string>;
  /** Node server bindings, e.g. `{ incoming: { socket: { remoteAddress } } }` for a client IP. */
  env?: unknown;
  /**
   * Fault-injection tests only: a 500 is the expected answer (a forced failure inside a
   * transaction), so it is checked for the error envelope instead of failing the contract.
   */
  expectInternalError?: boolean;
}

export interface CallResult {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected structurally
  body: any;
  headers: Headers;
  text: string;
}

export type Caller = (method: string, path: string, options?: CallOptions) => Promise<CallResult>;

/**
 * In-process requests (`app.request`); an SSE response is read up to its first frame, then
 * cancelled. Every response is checked against its route's descriptor (`assertContract`).
 */
export function caller(hub: Hub): Caller {
  return async (method, path, options = {}) => {
    const headers: Record<string, string> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.session) {
      headers.cookie = `m3shd_session=${options.session.id}; m3shd_csrf=${options.session.csrf}`;
      const csrf = options.csrf === undefined ? options.session.csrf : options.csrf;
      if (csrf !== null) headers["x-csrf-token"] = csrf;
    }
    let body: string | Uint8Array | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers["content-type"] = "application/json";
    }
    Object.assign(headers, options.headers);
    const res = await hub.app.request(
      path,
      { method, headers, ...(body !== undefined ? { body: body as string } : {}) },
      options.env as never,
    );
    let text = "";
    if ((res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      const reader = res.body?.getReader();
      const first = await reader?.read();
      text = first?.value ? new TextDecoder().decode(first.value) : "";
      await reader?.cancel();
    } else {
      text = await res.text();
    }
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    if (options.expectInternalError && res.status === 500) {
      if ((json as { error?: { code?: string } } | null)?.error?.code !== "internal") {
        throw new Error(`expected the internal-error envelope, got ${text}`);
      }
      return { status: res.status, body: json, headers: res.headers, text };
    }
    assertContract({
      method,
      url: path,
      status: res.status,
      contentType: res.headers.get("content-type"),
      body: json,
    });
    return { status: res.status, body: json, headers: res.headers, text };
  };
}

/** A dashboard session opened directly in the database (no PBKDF2 per test cell). */
export interface TestSession {
  id: string;
  csrf: string;
  userId: string;
}

export function openSession(hub: Hub, userId: string, ttlMs = 3600_000): TestSession {
  const id = randomBytes(32).toString("base64url");
  const csrf = randomBytes(32).toString("base64url");
  const now = hub.ctx.now();
  insertSession(hub.ctx.database.db, {
    idHash: hashToken(id),
    userId,
    csrfTokenHash: hashToken(csrf),
    expiresAt: now + ttlMs,
    ip: null,
    userAgent: null,
    now,
  });
  return { id, csrf, userId };
}

/** The principals of the matrix. */
export const PRINCIPAL_NAMES = [
  "none",
  "empty",
  "worker",
  "mobile",
  "commander",
  "admin",
  "apiKey",
  "session",
  "master",
] as const;
export type PrincipalName = (typeof PRINCIPAL_NAMES)[number];

/** The API key of the matrix: a typical read-and-submit integration. */
export const API_KEY_PERMISSIONS: Permission[] = ["tasks:read", "tasks:write", "agents:read"];

export interface TestPrincipal {
  name: PrincipalName;
  /** What this principal may do, derived from the presets — never from the hub under test. */
  permissions: ReadonlySet<Permission>;
  /** The agent a token is scoped to (agent tokens), else null. */
  agentId: string | null;
  token: string | null;
  /** For `session`: the user whose fresh session each cell opens. */
  userId: string | null;
  /** For `session`: that user's password. */
  password: string | null;
}

export const SESSION_USER = { username: "matrix-user", password: "matrix-user-password-1" };

/** Mints one credential per matrix principal through the real API, with the master token. */
export async function setupPrincipals(t: TestHub): Promise<Record<PrincipalName, TestPrincipal>> {
  const mint = async (agentId: string, permissions: readonly Permission[]) => {
    const res = await t.call("POST", "/api/tokens", {
      token: MASTER,
      body: { agent_id: agentId, permissions },
    });
    if (res.status !== 201) throw new Error(`mint failed: ${res.status} ${res.text}`);
    upsertAgent(t.database.db, {
      id: agentId,
      name: agentId,
      capabilities: ["echo"],
      maxConcurrent: 64,
      now: t.clock.now,
    });
    return res.body.token as string;
  };
  const key = await t.call("POST", "/api/keys", {
    token: MASTER,
    body: { name: "matrix", permissions: API_KEY_PERMISSIONS },
  });
  const user = await t.call("POST", "/api/users", {
    token: MASTER,
    body: { ...SESSION_USER, role: "user" },
  });
  if (key.status !== 201 || user.status !== 201) throw new Error("principal setup failed");
  const p = (
    name: PrincipalName,
    permissions: readonly Permission[],
    extra: Partial<TestPrincipal> = {},
  ): TestPrincipal => ({
    name,
    permissions: new Set(permissions),
    agentId: null,
    token: null,
    userId: null,
    password: null,
    ...extra,
  });
  return {
    none: p("none", []),
    empty: p("empty", [], { agentId: "agent-empty", token: await mint("agent-empty", []) }),
    worker: p("worker", ROLE_PRESETS.worker, {
      agentId: "agent-worker",
      token: await mint("agent-worker", ROLE_PRESETS.worker),
    }),
    mobile: p("mobile", ROLE_PRESETS.mobile, {
      agentId: "agent-mobile",
      token: await mint("agent-mobile", ROLE_PRESETS.mobile),
    }),
    commander: p("commander", ROLE_PRESETS.commander, {
      agentId: "agent-commander",
      token: await mint("agent-commander", ROLE_PRESETS.commander),
    }),
    admin: p("admin", ROLE_PRESETS.admin, {
      agentId: "agent-admin",
      token: await mint("agent-admin", ROLE_PRESETS.admin),
    }),
    apiKey: p("apiKey", API_KEY_PERMISSIONS, { token: key.body.key }),
    session: p("session", USER_ROLE_PERMISSIONS.user, {
      userId: user.body.user.id,
      password: SESSION_USER.password,
    }),
    master: p("master", PERMISSIONS, { token: MASTER }),
  };
}

/** Credentials of a principal for one request (a fresh session per call for `session`). */
export function credentialsOf(t: TestHub, p: TestPrincipal): Pick<CallOptions, "token" | "session"> {
  if (p.name === "session" && p.userId) return { session: openSession(t.hub, p.userId) };
  return { token: p.token };
}

/** The exact security headers every response must carry. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": "default-src 'self'; frame-ancestors 'none'; object-src 'none'",
  "strict-transport-security": "max-age=31536000; includeSubDomains",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "strict-origin-when-cross-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=()",
};

export const secTest = base.extend<{ t: TestHub }>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest fixtures must destructure their context
  t: async ({}, use) => {
    await use(await startTestHub());
  },
});
