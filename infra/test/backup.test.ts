import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createMemoryService, generateKek } from "@m3shd/memory";
import { startMesh } from "@m3shd/mesh";
import BetterSqlite3 from "better-sqlite3";
import { pino } from "pino";
import { describe, expect, it, onTestFinished } from "vitest";
import { runCommand } from "./lib/topology";

/**
 * Backups that restore: the mesh runs and writes (hub tasks, signed results, the Merkle log,
 * encrypted memories), `m3shd-backup backup` snapshots its data directory while it runs, the mesh
 * goes away, `m3shd-backup restore` fills a fresh data directory, and there every task is found with
 * its signed output and every memory decrypts with the keys recorded apart from the backup.
 */

const MASTER = "backup-test-master-token-0123456789abcdef";
const TASKS = 25;
const CLI = join(
  dirname(createRequire(import.meta.url).resolve("@m3shd/db/package.json")),
  "dist",
  "backup-cli.js",
);

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("m3shd-backup", () => {
  it("restores a live mesh's backup into a fresh data dir: every task, every memory decryptable with the recorded keys", async () => {
    expect(existsSync(CLI), `${CLI} (pnpm build)`).toBe(true);
    const data = tempDir("m3shd-backup-live-");
    const out = tempDir("m3shd-backup-out-");
    const mesh = await startMesh({
      dataDir: data,
      port: 0,
      masterToken: MASTER,
      logger: pino({ level: "silent" }),
    });
    let closed = false;
    onTestFinished(async () => {
      if (!closed) await mesh.close();
    });
    const headers = { authorization: `Bearer ${MASTER}`, "content-type": "application/json" };
    const call = async (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) => {
      const res = await fetch(mesh.url + path, {
        method,
        headers: { ...headers, ...extra },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? (JSON.parse(text) as Record<string, never>) : null };
    };

    expect(
      (await call("POST", "/api/agents/box/register", { capabilities: ["echo"], max_concurrent: 4 })).status,
    ).toBe(200);
    const outputs = new Map<string, string>();
    for (let i = 0; i < TASKS; i++) {
      const created = await call("POST", "/api/tasks", {
        title: `t${i}`,
        prompt: `p${i}`,
        required_capability: "echo",
      });
      expect(created.status).toBe(201);
      const next = await call("GET", "/api/agents/box/tasks/next?wait=5");
      const claimed = next.body as unknown as { task: { id: string }; attempt: number };
      // Every fifth result asks the memory service to remember something (memory.extract).
      const output = i % 5 === 0 ? `result ${i} [REMEMBER] fact ${i}: value ${i} [/REMEMBER]` : `result ${i}`;
      const done = await call(
        "PUT",
        `/api/tasks/${claimed.task.id}`,
        { status: "done", output, attempt: claimed.attempt },
        { "x-m3shd-agent": "box" },
      );
      expect(done.status).toBe(200);
      outputs.set(claimed.task.id, output);
    }
    const stored = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const res = await call("POST", "/api/agents/box/memory", {
        key: `note ${i}`,
        value: `secret value ${i}`,
      });
      expect(res.status).toBe(201);
      stored.set(`note ${i}`, `secret value ${i}`);
    }
    for (let i = 0; i < TASKS; i += 5) stored.set(`fact ${i}`, `value ${i}`);
    // Extraction runs off the request path: wait until the memory service holds every fact.
    const list = async () =>
      (
        (await call("GET", "/api/agents/box/memory?limit=100")).body as unknown as {
          entries: { key: string }[];
        }
      ).entries;
    for (let tries = 0; (await list()).length < stored.size; tries++) {
      if (tries > 100) throw new Error("memories were not extracted");
      await sleep(100);
    }

    // The backup, taken while the mesh runs (its connections open, WAL not checkpointed).
    const backup = await runCommand([process.execPath, CLI, "backup", "--data", data, "--out", out]);
    expect(backup.code, backup.output).toBe(0);
    const [dir] = readdirSync(out).filter((n) => n.startsWith("m3shd-backup-"));
    expect(dir).toBeDefined();
    const backupDir = join(out, dir ?? "");
    const manifest = JSON.parse(readFileSync(join(backupDir, "manifest.json"), "utf8")) as {
      files: { name: string; tables?: Record<string, number> }[];
      secretsNotIncluded: string[];
    };
    expect(manifest.files.map((f) => f.name)).toEqual(["m3shd.db", "memory.db"]);
    // Keys are not in the backup: they are recorded apart (here: read from the live data dir).
    expect(manifest.secretsNotIncluded).toContain("memory-kek");
    expect(readdirSync(backupDir)).not.toContain("memory-kek");
    const recordedKek = readFileSync(join(data, "memory-kek"), "utf8");
    // Work after the snapshot is not in it.
    expect(
      (await call("POST", "/api/tasks", { title: "late", prompt: "late", required_capability: "echo" }))
        .status,
    ).toBe(201);
    await mesh.close();
    closed = true;

    const fresh = join(tempDir("m3shd-backup-fresh-"), "data");
    const restore = await runCommand([process.execPath, CLI, "restore", backupDir, "--data", fresh]);
    expect(restore.code, restore.output).toBe(0);
    expect((await runCommand([process.execPath, CLI, "verify", backupDir])).code).toBe(0);

    // Every task, done, with its output and its signed provenance link and Merkle leaf.
    const hub = new BetterSqlite3(join(fresh, "m3shd.db"), { readonly: true });
    onTestFinished(() => void hub.close());
    const tasks = hub.prepare("select id, status, output from tasks").all() as {
      id: string;
      status: string;
      output: string;
    }[];
    expect(tasks).toHaveLength(TASKS);
    for (const t of tasks) {
      expect(t.status).toBe("done");
      expect(t.output).toBe(outputs.get(t.id));
    }
    const count = (table: string) =>
      (hub.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
    expect(count("provenance_links")).toBe(TASKS);
    // Each result is two leaves: its provenance link and its ledger entry (docs/contribution.md).
    expect(count("ledger_entries")).toBe(TASKS);
    expect(count("merkle_leaves")).toBe(2 * TASKS);
    expect(count("agents")).toBe(1);
    // And every ledger table's rows match the backup's manifest, as for every table.
    const tables = (
      hub.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]
    ).map((r) => r.name);
    for (const table of tables.filter((t) => t.includes("ledger"))) {
      expect(count(table), table).toBe(manifest.files[0]?.tables?.[table]);
    }

    // Every memory decrypts with the recorded KEK ring; a wrong key reads nothing.
    const memory = createMemoryService({
      dbPath: join(fresh, "memory.db"),
      kek: recordedKek.split("\n").filter((l) => l.startsWith("m3shd-kek")),
      recoveryPublicKey: null,
    });
    const entries = memory.list({ agentId: "box", limit: 100 }).entries;
    memory.close();
    expect(new Map(entries.map((e) => [e.key, e.value]))).toEqual(stored);
    const wrong = createMemoryService({
      dbPath: join(fresh, "memory.db"),
      kek: [generateKek()],
      recoveryPublicKey: null,
    });
    expect(() => wrong.list({ agentId: "box", limit: 100 })).toThrow();
    wrong.close();
  });
});
