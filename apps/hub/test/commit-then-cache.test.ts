import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { openDatabase, transitionTask, upsertAgent } from "@m3shd/db";
import { AgentSettingsSchema } from "@m3shd/protocol";
import { createQueueRuntime } from "@m3shd/queue";
import { pino } from "pino";
import { describe, expect, onTestFinished, test } from "vitest";
import { createHub, type Hub } from "../src/app";
import { DEFAULT_HUB_CONFIG } from "../src/context";
import { client, MASTER } from "./fixture";

/**
 * In-memory state changes only after commit. The completion transaction signs the result and
 * appends its Merkle leaf, then records cost; a trigger makes that cost insert abort, so the
 * transaction rolls back after signing. Nothing this process keeps in memory may remember the
 * leaf or the tokens, and a second hub process on the same file must agree.
 */

const HUB_ENTRY = fileURLToPath(new URL("../src/index.ts", import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const KEY_HEX = "01".repeat(32);
const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);

/** A loopback ntfy stand-in that records what it is sent. */
async function ntfyServer(): Promise<{ url: string; received: string[] }> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d: Buffer) => {
      body += d.toString();
    });
    req.on("end", () => {
      received.push(body);
      res.end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}

async function openHub(dbPath: string, clock: { now: number }, ntfyUrl: string) {
  const database = openDatabase({ path: dbPath });
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
      provenanceKey: Buffer.from(KEY_HEX, "hex"),
      // Low cap so the rolled-back usage would cross it: the budget alert must still fire once, later.
      workflows: { dailyTokenCap: 1000, ntfy: { url: ntfyUrl, topic: "ctc" } },
    },
  });
  await hub.ready;
  onTestFinished(async () => {
    hub.close();
    await queue.close();
    database.close();
  });
  return { hub, database, call: client(hub) };
}

/** A real second hub process (the production entry point) over the same SQLite file. */
async function spawnHub(dataDir: string, dbPath: string): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawn(process.execPath, ["--import", TSX_LOADER, "--conditions=@m3shd/source", HUB_ENTRY], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      M3SHD_DATA_DIR: dataDir,
      M3SHD_DB_PATH: dbPath,
      M3SHD_PORT: "0",
      M3SHD_MASTER_TOKEN: MASTER,
      M3SHD_PROVENANCE_KEY: KEY_HEX,
      M3SHD_LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  onTestFinished(() => {
    proc.kill("SIGKILL");
  });
  let stderr = "";
  proc.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = "";
    proc.stdout?.setEncoding("utf8");
    proc.stdout?.on("data", (text: string) => {
      buffer += text;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === "hub listening" && entry.url) resolve(entry.url);
        } catch {
          // not a log line
        }
      }
    });
    proc.on("exit", (code) => reject(new Error(`second hub exited ${code}: ${stderr}`)));
  });
  return { url, proc };
}

async function root(base: string) {
  const res = await fetch(`${base}/api/provenance/root`, { headers: { authorization: `Bearer ${MASTER}` } });
  return { status: res.status, body: (await res.json()) as { size: number; root: string } };
}

function runOn(hub: Hub, id: string, agent: string, now: number) {
  const db = hub.ctx.database.db;
  upsertAgent(db, { id: agent, name: agent, capabilities: ["echo"], maxConcurrent: 8, now });
  transitionTask(db, { id, from: "queued", to: "assigned", set: { assignedTo: agent }, now });
  transitionTask(db, { id, from: "assigned", to: "running", set: { attempts: 1, attempt: 1 }, now });
}

const TASK = { title: "t", prompt: "p", required_capability: "echo" };

describe("commit-then-cache", () => {
  test("a completion rolled back after signing leaves the Merkle log and the usage totals as they were, here and in a second process", async () => {
    const dir = mkdtempSync(join(tmpdir(), "m3shd-ctc-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const dbPath = join(dir, "m3shd.db");
    const clock = { now: NOW };
    const ntfy = await ntfyServer();
    const { hub, database, call } = await openHub(dbPath, clock, ntfy.url);
    const complete = (id: string, output: string) =>
      call("PUT", `/api/tasks/${id}`, {
        body: { status: "done", output, usage: { input_tokens: 600, output_tokens: 600 }, attempt: 1 },
        headers: { "x-m3shd-agent": "w1" },
        expectInternalError: true,
      });

    // One committed result first, so the log is not empty.
    const first = (await call("POST", "/api/tasks", { body: TASK })).body.task.id as string;
    runOn(hub, first, "w1", clock.now);
    expect(
      (
        await call("PUT", `/api/tasks/${first}`, {
          body: { status: "done", output: "one", attempt: 1 },
          headers: { "x-m3shd-agent": "w1" },
        })
      ).status,
    ).toBe(200);
    const before = (await call("GET", "/api/provenance/root")).body;
    // Two leaves per result: its provenance link and its ledger entry.
    expect(before.size).toBe(2);

    // The completion's cost insert aborts: the transaction has signed and appended the leaf by then.
    database.sqlite.exec(
      "CREATE TRIGGER fail_cost BEFORE INSERT ON cost_log BEGIN SELECT RAISE(ABORT, 'forced rollback'); END",
    );
    // Witnesses that survive the rollback (a JS function, not a row): the link was signed and the
    // leaf appended inside the transaction before it aborted, so the rollback really came after.
    const witnessed: string[] = [];
    database.sqlite.function("witness", (what: unknown) => {
      witnessed.push(String(what));
      return 0;
    });
    database.sqlite.exec(
      "CREATE TRIGGER witness_link AFTER INSERT ON provenance_links BEGIN SELECT witness('link ' || NEW.task_id); END",
    );
    database.sqlite.exec(
      "CREATE TRIGGER witness_leaf AFTER INSERT ON merkle_leaves BEGIN SELECT witness('leaf ' || NEW.leaf_index); END",
    );
    const doomed = (await call("POST", "/api/tasks", { body: TASK })).body.task.id as string;
    runOn(hub, doomed, "w1", clock.now);
    expect((await complete(doomed, "two")).status).toBe(500);
    database.sqlite.exec("DROP TRIGGER fail_cost");
    database.sqlite.exec("DROP TRIGGER witness_link");
    database.sqlite.exec("DROP TRIGGER witness_leaf");
    expect(witnessed.sort()).toEqual(["leaf 2", "leaf 3", `link ${doomed}`]);
    expect(database.sqlite.prepare("select count(*) as n from merkle_leaves").get()).toEqual({ n: 2 });

    // This process: same size, same root, no phantom tokens.
    expect((await call("GET", "/api/provenance/root")).body).toEqual(before);
    const settings = AgentSettingsSchema.parse((await call("GET", "/api/agents/w1/settings")).body.settings);
    expect(settings.tokens_today).toBe(0);

    // A second process on the same file agrees.
    const second = await spawnHub(dir, dbPath);
    expect(await root(second.url)).toEqual({ status: 200, body: before });

    // The retried completion commits: leaf index 2 (3 is its ledger entry), both processes serve the same root, and the
    // budget alert fires for the usage that was really recorded.
    expect((await complete(doomed, "two")).status).toBe(200);
    const after = (await call("GET", "/api/provenance/root")).body;
    expect(after.size).toBe(4);
    expect(await root(second.url)).toEqual({ status: 200, body: after });
    const proof = await call("GET", `/api/tasks/${doomed}/provenance`);
    expect(proof.body.merkle).toMatchObject({ leaf_index: 2, tree_size: 4, root: after.root });
    expect(
      AgentSettingsSchema.parse((await call("GET", "/api/agents/w1/settings")).body.settings).tokens_today,
    ).toBe(1200);
    await expect.poll(() => ntfy.received.filter((b) => b.includes("w1")).length).toBe(1);
  }, 60_000);
});
