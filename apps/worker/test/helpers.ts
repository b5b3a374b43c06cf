import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Mesh, type MeshOptions, startMesh } from "@m3shd/mesh";
import { type Agent, type ProvenanceResponse, type Task, TaskSchema } from "@m3shd/protocol";
import { pino } from "pino";
import { onTestFinished } from "vitest";

export const MASTER = "test-master-token-not-secret-0000000000";
export const REDIS_URL = process.env.REDIS_URL;
/** The dispatcher's tunables (its package is not a dependency of the worker). */
type DispatcherConfig = NonNullable<MeshOptions["dispatcher"]>;
export type Mode = "embedded" | "redis";
/** Redis runs only where REDIS_URL is set (CI and this machine); embedded always. */
export const MODES: Mode[] = REDIS_URL ? ["embedded", "redis"] : ["embedded"];

/** Fast sweeps so liveness tests take seconds. */
export const FAST_DISPATCHER: DispatcherConfig = {
  offlineAfterMs: 2000,
  sweepEveryMs: { heartbeats: 500, zombies: 1000, deadlines: 1000, reconcile: 1000 },
};

export interface TestMesh {
  mesh: Mesh;
  url: string;
  port: number;
  dataDir: string;
  prefix: string;
  mode: Mode;
  api: Api;
  /** Stops the mesh (idempotent). */
  close(): Promise<void>;
  /**
   * Starts it again on the same port, data dir and Redis prefix (a hub restart); `fresh` uses a new
   * empty data dir instead (a hub that lost its database).
   */
  restart(options?: { fresh?: boolean }): Promise<void>;
}

/** A whole mesh (hub + dispatcher) in this process, on an ephemeral port, torn down after the test. */
export async function testMesh(
  mode: Mode,
  options: { dispatcher?: DispatcherConfig; redisUrl?: string; hub?: MeshOptions["hub"] } = {},
): Promise<TestMesh> {
  const dataDirs = [mkdtempSync(join(tmpdir(), "m3shd-worker-e2e-"))];
  const dataDir = dataDirs[0] as string;
  const prefix = `m3shd-worker-test-${randomUUID()}`;
  const redisUrl = mode === "redis" ? (options.redisUrl ?? REDIS_URL) : undefined;
  const boot = (port: number, dir = dataDir) =>
    startMesh({
      dataDir: dir,
      port,
      masterToken: MASTER,
      redisUrl,
      redisPrefix: prefix,
      dispatcher: { ...FAST_DISPATCHER, ...options.dispatcher },
      ...(options.hub ? { hub: options.hub } : {}),
      logger: pino({ level: process.env.M3SHD_TEST_LOG ?? "silent" }),
    });
  let mesh: Mesh | null = await boot(0);
  const port = Number(new URL(mesh.url).port);
  const t: TestMesh = {
    mesh,
    url: mesh.url,
    port,
    dataDir,
    prefix,
    mode,
    api: new Api(mesh.url),
    async close() {
      const m = mesh;
      mesh = null;
      await m?.close();
    },
    async restart(restartOptions = {}) {
      if (mesh) throw new Error("mesh is running");
      let dir = dataDir;
      if (restartOptions.fresh) {
        dir = mkdtempSync(join(tmpdir(), "m3shd-worker-e2e-"));
        dataDirs.push(dir);
      }
      mesh = await boot(port, dir);
      t.mesh = mesh;
    },
  };
  onTestFinished(async () => {
    await t.close();
    if (redisUrl) await dropRedisPrefix(redisUrl, prefix);
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });
  return t;
}

/** The operator side of the hub API, over real HTTP with the master token. */
export class Api {
  constructor(readonly base: string) {}

  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(this.base + path, {
      method,
      headers: {
        authorization: `Bearer ${MASTER}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }

  async createTask(input: Record<string, unknown>): Promise<Task> {
    const res = await this.call<{ task: unknown }>("POST", "/api/tasks", { title: "t", ...input });
    if (res.status !== 201) throw new Error(`createTask: ${res.status} ${JSON.stringify(res.body)}`);
    return TaskSchema.parse(res.body.task);
  }

  async task(id: string): Promise<Task> {
    const res = await this.call<{ task: unknown }>("GET", `/api/tasks/${id}`);
    if (res.status !== 200) throw new Error(`task: ${res.status} ${JSON.stringify(res.body)}`);
    return TaskSchema.parse(res.body.task);
  }

  async tasks(query = ""): Promise<Task[]> {
    return (await this.call<{ tasks: Task[] }>("GET", `/api/tasks?limit=500${query}`)).body.tasks;
  }

  async agent(id: string): Promise<Agent | null> {
    const res = await this.call<{ agent: Agent }>("GET", `/api/agents/${id}`);
    return res.status === 200 ? res.body.agent : null;
  }

  async chunks(id: string): Promise<{ seq: number; content: string }[]> {
    return (await this.call<{ chunks: { seq: number; content: string }[] }>("GET", `/api/tasks/${id}/chunks`))
      .body.chunks;
  }

  async provenance(id: string): Promise<ProvenanceResponse> {
    return (await this.call<ProvenanceResponse>("GET", `/api/tasks/${id}/provenance`)).body;
  }

  async merkleSize(): Promise<number> {
    return (await this.call<{ size: number }>("GET", "/api/provenance/root")).body.size;
  }

  cancel(id: string) {
    return this.call("POST", `/api/tasks/${id}/cancel`, { reason: "test" });
  }

  /** Waits until the task reaches `status` (or any terminal status when omitted). */
  async waitForTask(
    id: string,
    status?: Task["status"] | ((t: Task) => boolean),
    ms = 20_000,
  ): Promise<Task> {
    const terminal = ["done", "failed", "suspended", "cancelled"];
    return until(
      async () => {
        const task = await this.task(id);
        const ok =
          typeof status === "function"
            ? status(task)
            : status
              ? task.status === status
              : terminal.includes(task.status);
        return ok ? task : null;
      },
      ms,
      `task ${id} ${typeof status === "string" ? status : "condition"}`,
    );
  }
}

/** Polls `fn` until it returns something truthy. For waiting on real state, never as a sleep. */
export async function until<T>(
  fn: () => Promise<T> | T,
  ms = 15_000,
  what = "condition",
): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Files waiting in a spool directory. */
export function spooled(dir: string): string[] {
  try {
    return readdirSync(dir).filter((f) => f.endsWith(".json") && !f.startsWith("."));
  } catch {
    return [];
  }
}

const WORKER_ENTRY = fileURLToPath(new URL("../src/index.ts", import.meta.url));
/** tsx's ESM loader, resolved from this package so no PATH or global install is needed. */
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  /** Parsed JSON log lines (stdout), in order. */
  logs: Record<string, unknown>[];
  stderr(): string;
  /** Resolves with the first log line matching. */
  waitForLog(
    match: string | ((line: Record<string, unknown>) => boolean),
    ms?: number,
  ): Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a real `m3shd-worker` process from the TypeScript source (tsx, `@m3shd/source`
 * condition — nothing needs building). Its environment is built from scratch: only PATH, a
 * throwaway HOME and what the test passes, so no real API key from the developer's shell can
 * leak into a test.
 */
export function spawnWorker(args: string[], env: Record<string, string> = {}): WorkerProcess {
  const child = spawn(
    process.execPath,
    ["--import", TSX_LOADER, "--conditions=@m3shd/source", WORKER_ENTRY, ...args],
    {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: tempDir("m3shd-worker-home-"),
        M3SHD_LOG_LEVEL: "info",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stderr = "";
  let buffer = "";
  child.stdout?.setEncoding("utf8");
  child.stdout?.on("data", (text: string) => {
    buffer += text;
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
      nl = buffer.indexOf("\n");
    }
    for (const w of [...waiters]) w();
  });
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    stderr += text;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => {
      for (const w of [...waiters]) w();
      resolve({ code, signal });
    });
  });
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exited;
    }
  });
  const matches = (match: string | ((line: Record<string, unknown>) => boolean)) =>
    typeof match === "string" ? (l: Record<string, unknown>) => l.msg === match : match;
  return {
    child,
    pid: child.pid ?? -1,
    logs,
    stderr: () => stderr,
    waitForLog(match, ms = 40_000) {
      const test = matches(match);
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = logs.find(test);
          if (found) {
            cleanup();
            resolve(found);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            reject(
              new Error(`worker exited before logging ${String(match)}; stderr: ${stderr.slice(-2000)}`),
            );
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`timed out waiting for worker log ${String(match)}; stderr: ${stderr.slice(-2000)}`),
          );
        }, ms);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    exited,
  };
}

/** Flags every test worker shares: the hub, fast heartbeats and reconnects, its own spool. */
export function workerArgs(
  mesh: { url: string },
  id: string,
  extra: string[],
  spoolDir: string = join(tempDir(`m3shd-spool-${id}-`), "spool"),
): string[] {
  return [
    "--hub",
    mesh.url,
    "--id",
    id,
    "--heartbeat",
    "300ms",
    "--poll-wait",
    "5s",
    "--hub-retry-max",
    "300ms",
    "--spool-dir",
    spoolDir,
    ...extra,
  ];
}

/** The token goes through the environment, as the README recommends. */
export const WORKER_ENV = { M3SHD_TOKEN: MASTER };

// --- Redis cleanup without a client dependency: a minimal RESP exchange over node:net ---------

type Resp = string | number | null | Resp[];

function parseResp(buf: Buffer, start: number): [Resp, number] | null {
  const end = buf.indexOf("\r\n", start);
  if (end < 0) return null;
  const type = String.fromCharCode(buf[start] ?? 0);
  const line = buf.toString("utf8", start + 1, end);
  const next = end + 2;
  if (type === "+" || type === "-") return [line, next];
  if (type === ":") return [Number(line), next];
  if (type === "$") {
    const len = Number(line);
    if (len < 0) return [null, next];
    if (buf.length < next + len + 2) return null;
    return [buf.toString("utf8", next, next + len), next + len + 2];
  }
  if (type === "*") {
    const count = Number(line);
    const items: Resp[] = [];
    let pos = next;
    for (let i = 0; i < count; i++) {
      const parsed = parseResp(buf, pos);
      if (!parsed) return null;
      items.push(parsed[0]);
      pos = parsed[1];
    }
    return [items, pos];
  }
  throw new Error(`unexpected RESP type ${type}`);
}

export async function redisCall(url: string, command: string[]): Promise<Resp> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port || 6379), hostname || "127.0.0.1");
    let buf = Buffer.alloc(0);
    socket.on("data", (data) => {
      buf = Buffer.concat([buf, data]);
      const parsed = parseResp(buf, 0);
      if (parsed) {
        socket.end();
        resolve(parsed[0]);
      }
    });
    socket.on("error", reject);
    const encoded = `*${command.length}\r\n${command.map((c) => `$${Buffer.byteLength(c)}\r\n${c}\r\n`).join("")}`;
    socket.write(encoded);
  });
}

/** Deletes every key under `prefix:` (BullMQ queues, pub/sub bookkeeping, liveness). */
export async function dropRedisPrefix(url: string, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const reply = (await redisCall(url, ["SCAN", cursor, "MATCH", `${prefix}:*`, "COUNT", "1000"])) as [
      string,
      string[],
    ];
    cursor = reply[0];
    if (reply[1].length > 0) await redisCall(url, ["DEL", ...reply[1]]);
  } while (cursor !== "0");
}

/** A private `redis-server` on its own port, so a FLUSHALL hurts no other test. Killed after the test. */
export async function privateRedis(): Promise<{ url: string }> {
  const port = await new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
  const proc = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  onTestFinished(async () => {
    proc.kill("SIGKILL");
    await exited;
  });
  const url = `redis://127.0.0.1:${port}`;
  await until(
    async () => (await redisCall(url, ["PING"]).catch(() => "")) === "PONG",
    10_000,
    "private redis",
  );
  return { url };
}
