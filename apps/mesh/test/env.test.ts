import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { getTask, openDatabase, transitionTask, upsertAgent } from "@m3shd/db";
import { dispatcherConfigFromEnv, parseDispatcherEnv, reclaimTask } from "@m3shd/dispatcher";
import { createHub, DEFAULT_HUB_CONFIG, parseHubEnv, workflowsFromEnv } from "@m3shd/hub";
import { createQueueRuntime } from "@m3shd/queue";
import { pino } from "pino";
import { describe, expect, onTestFinished, test } from "vitest";
import { MASTER } from "./helpers";

/**
 * One env fragment, parsed identically everywhere: each value of M3SHD_DAG_FAIL_FAST goes through
 * the hub's and the dispatcher's real env parsers into their real configs, and a parent that fails
 * for good — in the hub (a final failed completion) and in the dispatcher (a reclaim with no
 * attempts left) — does the same thing to its waiting child.
 */

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const CASES: [value: string, failFast: boolean][] = [
  ["", true],
  ["0", false],
  ["false", false],
  ["1", true],
  ["true", true],
  ["no", false],
  ["yes", true],
];

async function childAfterParentFails(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), "m3shd-env-"));
  const database = openDatabase({ path: join(dir, "m3shd.db") });
  const queue = await createQueueRuntime();
  const hub = createHub({
    database,
    queue,
    logger: pino({ level: "silent" }),
    now: () => NOW,
    startedAt: NOW,
    config: {
      ...DEFAULT_HUB_CONFIG,
      masterToken: MASTER,
      provenanceKey: Buffer.alloc(32, 1),
      workflows: workflowsFromEnv(parseHubEnv(env)),
    },
  });
  await hub.ready;
  onTestFinished(async () => {
    hub.close();
    await queue.close();
    database.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const db = database.db;
  const call = async (method: string, path: string, body: unknown, agent?: string) => {
    const res = await hub.app.request(path, {
      method,
      headers: {
        authorization: `Bearer ${MASTER}`,
        "content-type": "application/json",
        ...(agent ? { "x-m3shd-agent": agent } : {}),
      },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as { task: { id: string } } };
  };
  const pair = async () => {
    const parent = (
      await call("POST", "/api/tasks", {
        title: "p",
        prompt: "p",
        required_capability: "echo",
        max_attempts: 1,
      })
    ).body.task.id;
    const child = (
      await call("POST", "/api/tasks", {
        title: "c",
        prompt: "c",
        required_capability: "echo",
        depends_on: [parent],
      })
    ).body.task.id;
    transitionTask(db, { id: parent, from: "queued", to: "assigned", set: { assignedTo: "w1" }, now: NOW });
    return { parent, child };
  };
  upsertAgent(db, { id: "w1", name: "w1", capabilities: ["echo"], maxConcurrent: 8, now: NOW });

  // The hub: the assigned agent reports a final failure.
  const inHub = await pair();
  transitionTask(db, {
    id: inHub.parent,
    from: "assigned",
    to: "running",
    set: { attempts: 1, attempt: 1 },
    now: NOW,
  });
  const failed = await call(
    "PUT",
    `/api/tasks/${inHub.parent}`,
    { status: "failed", error: "boom", retryable: false, attempt: 1 },
    "w1",
  );
  expect(failed.status).toBe(200);

  // The dispatcher: a zombie that started its last attempt is failed by the sweeper.
  const inDispatcher = await pair();
  transitionTask(db, {
    id: inDispatcher.parent,
    from: "assigned",
    to: "running",
    set: { attempts: 1, attempt: 1 },
    now: NOW,
  });
  const row = getTask(db, inDispatcher.parent);
  if (!row) throw new Error("parent vanished");
  const ctx = {
    database,
    queue,
    logger: pino({ level: "silent" }),
    now: () => NOW,
    config: dispatcherConfigFromEnv(parseDispatcherEnv(env)),
  };
  expect(await reclaimTask(ctx, row, "zombie")).toBe(false);

  return {
    hub: getTask(db, inHub.child)?.status,
    dispatcher: getTask(db, inDispatcher.child)?.status,
    parents: [getTask(db, inHub.parent)?.status, getTask(db, inDispatcher.parent)?.status],
  };
}

describe("the lifecycle env fragment", () => {
  test.each(CASES)(
    "M3SHD_DAG_FAIL_FAST=%j: fail-fast %s in hub and dispatcher alike",
    async (value, failFast) => {
      const env = { M3SHD_DAG_FAIL_FAST: value };
      expect(workflowsFromEnv(parseHubEnv(env)).dag?.failFast).toBe(failFast);
      expect(dispatcherConfigFromEnv(parseDispatcherEnv(env)).dag.failFast).toBe(failFast);
      const seen = await childAfterParentFails(env);
      expect(seen.parents).toEqual(["failed", "failed"]);
      // Fail-fast cancels the waiting child; without it the child is released with its parent's error.
      const expected = failFast ? "cancelled" : "queued";
      expect(seen).toMatchObject({ hub: expected, dispatcher: expected });
    },
  );

  test("garbage is a startup error naming the variable, in both apps", () => {
    for (const parse of [parseHubEnv, parseDispatcherEnv]) {
      expect(() => parse({ M3SHD_DAG_FAIL_FAST: "perhaps" })).toThrow(/M3SHD_DAG_FAIL_FAST: expected one of/);
    }
  });
});

const MESH_ENTRY = fileURLToPath(new URL("../src/index.ts", import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** `pnpm start`'s process (apps/mesh's entry point; start.mjs runs its build), with `env`. */
async function spawnMesh(env: Record<string, string>): Promise<{ url: string; proc: ChildProcess }> {
  const dataDir = mkdtempSync(join(tmpdir(), "m3shd-start-"));
  const proc = spawn(process.execPath, ["--import", TSX_LOADER, "--conditions=@m3shd/source", MESH_ENTRY], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      M3SHD_DATA_DIR: dataDir,
      M3SHD_PORT: "0",
      M3SHD_MASTER_TOKEN: MASTER,
      M3SHD_LOG_LEVEL: "silent",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  onTestFinished(() => {
    proc.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    proc.stdout?.setEncoding("utf8");
    proc.stdout?.on("data", (text: string) => {
      out += text;
      const m = /mesh is up at (http:\/\/\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    proc.on("exit", (code) => reject(new Error(`mesh exited ${code}: ${stderr}`)));
  });
  return { url, proc };
}

/** The client IP the mesh recorded for a refused login sent with X-Forwarded-For. */
async function recordedIp(url: string): Promise<string | null> {
  const login = await fetch(`${url}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": "203.0.113.9" },
    body: JSON.stringify({ username: "nobody", password: "wrong-password-123" }),
  });
  expect(login.status).toBe(401);
  const audit = await fetch(`${url}/api/audit?target=nobody`, {
    headers: { authorization: `Bearer ${MASTER}` },
  });
  const { entries } = (await audit.json()) as { entries: { ip: string | null }[] };
  return entries[0]?.ip ?? null;
}

describe("pnpm start", () => {
  test("honours M3SHD_TRUST_PROXY: the client IP comes from X-Forwarded-For only when it is set", async () => {
    const [trusting, plain] = await Promise.all([spawnMesh({ M3SHD_TRUST_PROXY: "1" }), spawnMesh({})]);
    expect(await recordedIp(trusting.url)).toBe("203.0.113.9");
    expect(await recordedIp(plain.url)).toBe("127.0.0.1");
  }, 60_000);
});
