import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DispatcherConfig } from "@m3shd/dispatcher";
import type { HubConfig } from "@m3shd/hub";
import { type MeshEvent, MeshEventSchema } from "@m3shd/protocol";
import { Redis } from "ioredis";
import { pino } from "pino";
import { onTestFinished } from "vitest";
import { type Mesh, startMesh } from "../src/mesh";
import { assertContract } from "./contract";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const MASTER = "test-master-token-not-a-secret-0123456789";
export type Mode = "embedded" | "redis";
export const MODES: Mode[] = ["embedded", "redis"];

/** Fast sweeps so liveness and zombie tests run in seconds. */
export const FAST_DISPATCHER: Partial<DispatcherConfig> = {
  offlineAfterMs: 1500,
  zombieAfterMs: 60_000,
  sweepEveryMs: { heartbeats: 250, zombies: 500, deadlines: 500, reconcile: 500 },
  selection: { exploration: 0.5, breakerCooldownMs: 400 },
};

export interface TestMesh extends Mesh {
  api: Api;
  dataDir: string;
  prefix: string;
}

/** A mesh on an ephemeral port with its own data dir (and Redis prefix), torn down after the test. */
export async function testMesh(
  mode: Mode,
  options: {
    dispatcher?: Partial<DispatcherConfig>;
    hub?: Partial<Omit<HubConfig, "masterToken" | "provenanceKey">>;
    redisUrl?: string;
    dataDir?: string;
    prefix?: string;
    now?: () => number;
    keep?: boolean;
  } = {},
): Promise<TestMesh> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "m3shd-mesh-"));
  const prefix = options.prefix ?? `m3shd-test-${randomUUID()}`;
  const redisUrl = mode === "redis" ? (options.redisUrl ?? REDIS_URL) : undefined;
  const mesh = await startMesh({
    dataDir,
    port: 0,
    redisUrl,
    redisPrefix: prefix,
    masterToken: MASTER,
    logger: pino({ level: process.env.M3SHD_TEST_LOG ?? "silent" }),
    ...(options.now ? { now: options.now } : {}),
    hub: options.hub ?? {},
    dispatcher: { ...FAST_DISPATCHER, ...options.dispatcher },
  });
  if (!options.keep) {
    onTestFinished(async () => {
      await mesh.close();
      if (redisUrl) await dropPrefix(redisUrl, prefix);
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    });
  }
  return Object.assign(mesh, { api: new Api(mesh.url, MASTER), dataDir, prefix });
}

/** Deletes every key under a prefix. */
export async function dropPrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * Minimal HTTP client over real loopback HTTP. Every response is checked against its route's
 * descriptor (`assertContract`): an undeclared status or a body that does not parse fails the test.
 */
export class Api {
  constructor(
    readonly base: string,
    readonly token: string | null,
  ) {}

  as(token: string | null): Api {
    return new Api(this.base, token);
  }

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    const res = await fetch(this.base + path, {
      method,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    assertContract({
      method,
      url: path,
      status: res.status,
      contentType: res.headers.get("content-type"),
      body: parsed,
    });
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  register(id: string, capabilities: string[], slots = 1) {
    return this.call("POST", `/api/agents/${id}/register`, { capabilities, max_concurrent: slots });
  }

  async createTask(input: Record<string, unknown>): Promise<TaskJson> {
    const res = await this.call<{ task: TaskJson }>("POST", "/api/tasks", {
      title: "t",
      prompt: "do it",
      required_capability: "echo",
      ...input,
    });
    if (res.status !== 201) throw new Error(`createTask: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.task;
  }

  async task(id: string): Promise<TaskJson> {
    return (await this.call<{ task: TaskJson }>("GET", `/api/tasks/${id}`)).body.task;
  }

  /** Long-poll for the agent's next task; null on 204. */
  async next(agent: string, wait = 5): Promise<TaskJson | null> {
    const res = await this.call<{ task: TaskJson }>("GET", `/api/agents/${agent}/tasks/next?wait=${wait}`);
    if (res.status === 204) return null;
    if (res.status !== 200) throw new Error(`next: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.task;
  }

  /** Long-poll and keep the whole claim (`{ task, attempt }`); null on 204. */
  async claim(agent: string, wait = 5): Promise<{ task: TaskJson; attempt: number } | null> {
    const res = await this.call<{ task: TaskJson; attempt: number }>(
      "GET",
      `/api/agents/${agent}/tasks/next?wait=${wait}`,
    );
    if (res.status === 204) return null;
    if (res.status !== 200) throw new Error(`claim: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** The task's current attempt (lease), for writes whose caller did not keep the claim's. */
  async currentAttempt(id: string): Promise<number> {
    return Number((await this.task(id)).attempt);
  }

  /** Completes as `agent`; `attempt` defaults to the task's current one (pass it to test fencing). */
  async complete(agent: string, id: string, output: string, extra: Record<string, unknown> = {}) {
    const attempt = extra.attempt ?? (await this.currentAttempt(id));
    return this.call(
      "PUT",
      `/api/tasks/${id}`,
      { status: "done", output, attempt, ...extra },
      { "x-m3shd-agent": agent },
    );
  }

  /** Fails as `agent`; `attempt` defaults to the task's current one. */
  async fail(agent: string, id: string, error = "boom", extra: Record<string, unknown> = {}) {
    const attempt = extra.attempt ?? (await this.currentAttempt(id));
    return this.call(
      "PUT",
      `/api/tasks/${id}`,
      { status: "failed", error, attempt, ...extra },
      { "x-m3shd-agent": agent },
    );
  }
}

export interface TaskJson {
  id: string;
  status: string;
  assigned_to: string | null;
  required_capability: string;
  output: string | null;
  attempts: number;
  priority: number;
  urgency: string;
  assignment: { winner: string; strategy: string; candidates: { agent_id: string; score: number }[] } | null;
  [key: string]: unknown;
}

/** Polls `fn` until it returns a truthy value (or throws after `ms`). For real state, not sleeps. */
export async function until<T>(
  fn: () => Promise<T> | T,
  ms = 10_000,
  what = "condition",
): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A parsed SSE frame. */
export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/**
 * Subscribes to `/api/stream` over real HTTP and parses frames. `events` holds every parsed mesh
 * event (validated with the protocol's schema), in arrival order.
 */
export async function sse(
  base: string,
  token: string,
  options: { lastEventId?: string; query?: string } = {},
) {
  const controller = new AbortController();
  const res = await fetch(`${base}/api/stream${options.query ? `?${options.query}` : ""}`, {
    headers: {
      authorization: `Bearer ${token}`,
      ...(options.lastEventId ? { "last-event-id": options.lastEventId } : {}),
    },
    signal: controller.signal,
  });
  // The stream's status and media type against its descriptor; each event parses below.
  const isStream = res.ok && (res.headers.get("content-type") ?? "").startsWith("text/event-stream");
  assertContract({
    method: "GET",
    url: "/api/stream",
    status: res.status,
    contentType: res.headers.get("content-type"),
    body: isStream ? null : await res.clone().json(),
  });
  const frames: SseFrame[] = [];
  const events: MeshEvent[] = [];
  let closed = false;
  const reader = res.body?.getReader();
  const pump = (async () => {
    if (!reader) return;
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let idx = buffer.indexOf("\n\n");
        while (idx >= 0) {
          const raw = buffer.slice(0, idx);
          buffer = buffer.slice(idx + 2);
          const frame: SseFrame = {};
          for (const line of raw.split("\n")) {
            if (line.startsWith(":")) frame.comment = line.slice(1).trim();
            else if (line.startsWith("id: ")) frame.id = line.slice(4);
            else if (line.startsWith("event: ")) frame.event = line.slice(7);
            else if (line.startsWith("data: "))
              frame.data = (frame.data ? `${frame.data}\n` : "") + line.slice(6);
          }
          frames.push(frame);
          if (frame.data) events.push(MeshEventSchema.parse(JSON.parse(frame.data)));
          idx = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // aborted
    } finally {
      closed = true;
    }
  })();
  onTestFinished(() => {
    controller.abort();
  });
  // Wait for the hello comment so the subscription is live before the test publishes.
  await until(() => frames.length > 0, 5000, "SSE connect");
  return {
    status: res.status,
    frames,
    events,
    get closed() {
      return closed;
    },
    close: () => controller.abort(),
    done: pump,
  };
}
