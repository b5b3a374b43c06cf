import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDatabase } from "@m3shd/db";
import { createQueueRuntime } from "@m3shd/queue";
import { pino } from "pino";
import { test as base } from "vitest";
import { createHub, type Hub } from "../src/app";
import { DEFAULT_HUB_CONFIG } from "../src/context";
import { assertContract } from "./contract";

export const MASTER = "test-master-token-not-a-secret-0123456789";

/**
 * Calls the hub in-process (`app.request`) with the master token unless told otherwise. Every
 * response is checked against its route's descriptor (`assertContract`): an undeclared status or
 * a body that does not parse fails the calling test.
 */
export function client(hub: Hub) {
  return async function call(
    method: string,
    path: string,
    options: {
      body?: unknown;
      raw?: string;
      token?: string | null;
      headers?: Record<string, string>;
      /** Fault-injection tests only: a forced 500 is expected (checked for the internal-error envelope). */
      expectInternalError?: boolean;
    } = {},
  ) {
    const headers: Record<string, string> = { ...options.headers };
    const token = options.token === undefined ? MASTER : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers["content-type"] ??= "application/json";
    }
    const res = await hub.app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await res.text();
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
      // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected structurally
      return { status: res.status, body: json as any, headers: res.headers };
    }
    assertContract({
      method,
      url: path,
      status: res.status,
      contentType: res.headers.get("content-type"),
      body: json,
    });
    // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected structurally
    return { status: res.status, body: json as any, headers: res.headers };
  };
}

/** A hub on a fresh SQLite file with in-process queues and a settable clock. */
export const hubTest = base.extend<{ hub: Hub; call: ReturnType<typeof client>; clock: { now: number } }>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest fixtures must destructure their context
  clock: async ({}, use) => {
    await use({ now: Date.UTC(2026, 10, 25, 12, 0, 0) });
  },
  hub: async ({ clock }, use) => {
    const dir = mkdtempSync(join(tmpdir(), "m3shd-hub-"));
    const database = openDatabase({ path: join(dir, "hub.db") });
    const queue = await createQueueRuntime();
    const hub = createHub({
      database,
      queue,
      logger: pino({ level: "silent" }),
      now: () => clock.now,
      startedAt: clock.now,
      config: {
        ...DEFAULT_HUB_CONFIG,
        masterToken: MASTER,
        provenanceKey: Buffer.alloc(32, 1),
        longPollMaxMs: 2000,
      },
    });
    await use(hub);
    hub.close();
    await queue.close();
    database.close();
    rmSync(dir, { recursive: true, force: true });
  },
  call: async ({ hub }, use) => {
    await use(client(hub));
  },
});
