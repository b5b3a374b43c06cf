import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { openDatabase } from "@m3shd/db";
import { type FakeProviderServer, startFakeProviderServer } from "@m3shd/providers/fake-server";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import {
  Api,
  MASTER,
  privateRedis,
  redisCall,
  spawnWorker,
  tempDir,
  until,
  WORKER_ENV,
  type WorkerProcess,
  workerArgs,
} from "./helpers";

/**
 * The soak from issue 12, in split mode: hub and dispatcher as their own processes (from source,
 * as `m3shd-worker` is), three real workers, a private redis-server. 1,000 tasks are created in
 * waves while a worker, the dispatcher and the hub are each killed with SIGKILL and restarted, and
 * Redis is flushed. Nothing is done by hand: every task must end `done` exactly once — one
 * completion, one provenance link, one ledger entry, two Merkle leaves (link and entry) — with its
 * own output.
 */
const TASKS = 1000;
const WAVES = 5;
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const HUB_ENTRY = fileURLToPath(new URL("../../hub/src/index.ts", import.meta.url));
const DISPATCHER_ENTRY = fileURLToPath(new URL("../../dispatcher/src/index.ts", import.meta.url));

let fake: FakeProviderServer;
beforeAll(async () => {
  // Every answer takes a little while, so each fault lands on work in flight.
  fake = await startFakeProviderServer({
    defaultReply: (req) => ({ kind: "reply", text: `re: ${req.prompt}`, delayMs: 20 }),
  });
});
afterAll(async () => {
  await fake.close();
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** A service process from source; killed (SIGKILL) after the test if still running. */
function spawnService(entry: string, env: Record<string, string>): ChildProcess & { exitedP: Promise<void> } {
  const child = spawn(process.execPath, ["--import", TSX_LOADER, "--conditions=@m3shd/source", entry], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", M3SHD_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (t: string) => {
    stderr = (stderr + t).slice(-4000);
  });
  const exitedP = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
      await exitedP;
    }
  });
  return Object.assign(child, { exitedP, stderrTail: () => stderr });
}

async function kill(
  p: { kill(s: NodeJS.Signals): boolean; exitedP?: Promise<void> },
  exited?: Promise<unknown>,
) {
  p.kill("SIGKILL");
  await (exited ?? p.exitedP);
}

describe("soak (split mode)", () => {
  it("1,000 tasks through kill -9 of a worker, the dispatcher and the hub and a FLUSHALL: each done exactly once", async () => {
    const redis = await privateRedis();
    const dataDir = tempDir("m3shd-soak-");
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const common = {
      REDIS_URL: redis.url,
      M3SHD_REDIS_PREFIX: "soak",
      M3SHD_DATA_DIR: dataDir,
      M3SHD_MASTER_TOKEN: MASTER,
      M3SHD_PROVENANCE_KEY: randomBytes(32).toString("hex"),
    };
    const hubEnv = { ...common, M3SHD_PORT: String(port), M3SHD_HOST: "127.0.0.1" };
    const dispatcherEnv = {
      ...common,
      M3SHD_OFFLINE_AFTER_MS: "4000",
      M3SHD_PICKUP_TIMEOUT_MS: "2000",
      M3SHD_ZOMBIE_AFTER_MS: "60000",
    };
    let hub = spawnService(HUB_ENTRY, hubEnv);
    const api = new Api(url);
    const hubUp = () =>
      until(
        async () => (await fetch(`${url}/api/health`).catch(() => null))?.status === 200,
        60_000,
        "hub health",
      );
    await hubUp();
    let dispatcher = spawnService(DISPATCHER_ENTRY, dispatcherEnv);

    const workerFlags = (id: string) =>
      workerArgs({ url }, id, [
        "--capabilities",
        "research",
        "--provider",
        "anthropic",
        "--model",
        "soak",
        "--base-url",
        fake.url,
        "--slots",
        "8",
      ]);
    const ENV = { ...WORKER_ENV, ANTHROPIC_API_KEY: "sk-ant-soak" };
    const workers: WorkerProcess[] = ["w-a", "w-b", "w-c"].map((id) => spawnWorker(workerFlags(id), ENV));
    await Promise.all(workers.map((w) => w.waitForLog("registered with the hub", 60_000)));

    // Creation is idempotent per task, so a request lost with the hub is simply sent again.
    const create = async (i: number) => {
      for (;;) {
        const res = await api
          .call<{ task: { id: string } }>("POST", "/api/tasks", {
            title: `soak ${i}`,
            prompt: `job-${i}`,
            required_capability: "research",
            idempotency_key: `soak-${i}`,
          })
          .catch(() => null);
        if (res && (res.status === 201 || res.status === 200)) return res.body.task.id;
        await sleep(100);
      }
    };
    const ids = new Map<number, string>();
    const wave = async (w: number) => {
      const per = TASKS / WAVES;
      const start = w * per;
      // 20 creators in parallel per wave.
      let next = start;
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (next < start + per) {
            const i = next++;
            ids.set(i, await create(i));
          }
        }),
      );
    };

    // Wave 1, then a worker dies mid-work and comes back under the same id.
    await wave(0);
    const victim = workers[0] as WorkerProcess;
    await kill(victim.child, victim.exited);
    workers[0] = spawnWorker(workerFlags("w-a"), ENV);
    // Wave 2, then the dispatcher dies and comes back.
    await wave(1);
    await kill(dispatcher);
    await sleep(500);
    dispatcher = spawnService(DISPATCHER_ENTRY, dispatcherEnv);
    // Wave 3, then the hub dies mid-wave 4 and comes back on the same port and file.
    await wave(2);
    const wave4 = wave(3);
    await sleep(300);
    await kill(hub);
    await sleep(1000);
    hub = spawnService(HUB_ENTRY, hubEnv);
    await hubUp();
    await wave4;
    // Redis loses everything, then the last wave.
    expect(await redisCall(redis.url, ["FLUSHALL"])).toBe("OK");
    await wave(4);
    expect(ids.size).toBe(TASKS);

    // No manual step: everything settles on its own (read from the file, as any reader may).
    const reader = openDatabase({ path: join(dataDir, "m3shd.db") });
    const byStatus = () =>
      reader.sqlite.prepare("SELECT status, COUNT(*) AS n FROM tasks GROUP BY status ORDER BY status").all();
    try {
      await until(
        () =>
          (
            reader.sqlite.prepare("SELECT COUNT(*) AS n FROM tasks WHERE status = 'done'").get() as {
              n: number;
            }
          ).n >= TASKS,
        150_000,
        "every task done",
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}: ${JSON.stringify(byStatus())}`);
      });
    } finally {
      reader.close();
    }

    // Exactly once, checked in the system of record.
    await kill(dispatcher);
    await kill(hub);
    const db = openDatabase({ path: join(dataDir, "m3shd.db") });
    try {
      const q = (sql: string) => db.sqlite.prepare(sql).all() as Record<string, unknown>[];
      expect(q("SELECT COUNT(*) AS n FROM tasks")).toEqual([{ n: TASKS }]);
      expect(q("SELECT status, COUNT(*) AS n FROM tasks GROUP BY status")).toEqual([
        { status: "done", n: TASKS },
      ]);
      // Each output is its own task's answer: nothing crossed, nothing doubled.
      expect(q("SELECT COUNT(*) AS n FROM tasks WHERE output <> 're: ' || prompt")).toEqual([{ n: 0 }]);
      expect(q("SELECT COUNT(*) AS n, COUNT(DISTINCT task_id) AS d FROM provenance_links")).toEqual([
        { n: TASKS, d: TASKS },
      ]);
      expect(q("SELECT COUNT(*) AS n, COUNT(DISTINCT task_id) AS d FROM ledger_entries")).toEqual([
        { n: TASKS, d: TASKS },
      ]);
      expect(q("SELECT COUNT(*) AS n FROM merkle_leaves")).toEqual([{ n: 2 * TASKS }]);
    } finally {
      db.close();
    }
  }, 290_000);
});
