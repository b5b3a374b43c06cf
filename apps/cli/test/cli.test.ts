import { type ChildProcess, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Mesh, startMesh } from "@m3shd/mesh";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditBundle } from "../src/bundle";
import { type CliIo, runCli } from "../src/lib";

/**
 * The `m3shd` CLI against a real mesh: `m3shd init` and `m3shd node start` run a real worker
 * process that signs its results; `m3shd export` writes a bundle that `m3shd audit` passes, and
 * any changed byte of a receipt, a ledger entry or the checkpoint fails the audit, naming it.
 */

const MASTER = "cli-test-master-token-not-secret-00000000";
const CLI_ENTRY = fileURLToPath(new URL("../src/index.ts", import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

let mesh: Mesh;
let root: string;
let home: string;
let worker: ChildProcess;
let bundle: string;

function io(env: Record<string, string> = {}): CliIo & { out: () => string; err: () => string } {
  let out = "";
  let err = "";
  return {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    env: { M3SHD_HUB: mesh.url, M3SHD_TOKEN: MASTER, M3SHD_HOME: home, ...env },
    isTTY: false,
    out: () => out,
    err: () => err,
  };
}

async function cli(args: string[]) {
  const captured = io();
  const code = await runCli(args, captured);
  return { code, out: captured.out(), err: captured.err() };
}

async function cliJson<T = Record<string, unknown>>(args: string[]): Promise<T> {
  const res = await cli(["--json", ...args]);
  expect(res.code, res.err + res.out).toBe(0);
  return JSON.parse(res.out) as T;
}

async function until<T>(fn: () => Promise<T | null | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(mesh.url + path, {
    method,
    headers: { authorization: `Bearer ${MASTER}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return (await res.json()) as T;
}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "m3shd-cli-test-"));
  home = join(root, "home");
  mesh = await startMesh({
    dataDir: join(root, "data"),
    port: 0,
    masterToken: MASTER,
    memory: { enabled: false },
    dispatcher: {
      offlineAfterMs: 2000,
      sweepEveryMs: { heartbeats: 500, zombies: 1000, deadlines: 1000, reconcile: 1000 },
    },
    logger: pino({ level: "silent" }),
  });
  const init = await cliJson<{ created: boolean; key_id: string }>([
    "init",
    "--id",
    "cli-node",
    "--capabilities",
    "echo,text_stats,keyword_extract,text_chunk,text_embed",
  ]);
  expect(init.created).toBe(true);
  expect(statSync(join(home, "identity.json")).mode & 0o777).toBe(0o600);
  // A real worker process, started the way a node runner would: `m3shd node start`.
  worker = spawn(
    process.execPath,
    [
      "--import",
      TSX,
      "--conditions=@m3shd/source",
      CLI_ENTRY,
      "node",
      "start",
      "--",
      "--heartbeat",
      "300ms",
      "--poll-wait",
      "2s",
      "--spool-dir",
      join(root, "spool"),
    ],
    {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: root,
        M3SHD_HOME: home,
        M3SHD_HUB: mesh.url,
        M3SHD_TOKEN: MASTER,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  await until(async () => {
    const res = await api<{ agent?: { node_key: { key_id: string } | null } }>("GET", "/api/agents/cli-node");
    return res.agent?.node_key?.key_id === init.key_id;
  });
  const text = "Receipts make contribution checkable. Anyone can audit a bundle offline.";
  const jobs = [
    { job_type: "echo", payload: { text: "hi" } },
    { job_type: "text_stats", payload: { text } },
    { job_type: "keyword_extract", payload: { text, limit: 5 } },
    { job_type: "text_chunk", payload: { text, max_chars: 24 } },
    { job_type: "text_embed", payload: { text, dimensions: 8 } },
  ];
  const ids: string[] = [];
  for (const job of jobs) {
    const res = await api<{ task: { id: string } }>("POST", "/api/tasks", {
      title: job.job_type,
      prompt: JSON.stringify(job),
      required_capability: job.job_type,
    });
    ids.push(res.task.id);
  }
  await until(async () => {
    const tasks = await Promise.all(
      ids.map((id) => api<{ task: { status: string } }>("GET", `/api/tasks/${id}`)),
    );
    return tasks.every((t) => t.task.status === "done");
  });
  bundle = join(root, "bundle");
}, 120_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker.once("exit", r));
    worker.kill("SIGTERM");
    await exited;
  }
  await mesh?.close();
  rmSync(root, { recursive: true, force: true });
});

describe("m3shd CLI", () => {
  it("status, peers, jobs, ledger, ui and token create answer in text and in JSON", async () => {
    const status = await cliJson<{ fleet: { agents: number }; ledger: { total_units: number } }>(["status"]);
    expect(status.fleet.agents).toBe(1);
    // echo 1 + text_stats 2 + keyword_extract 2 + text_chunk 1 + floor(chunks/2) + text_embed 1
    expect(status.ledger.total_units).toBeGreaterThanOrEqual(7);
    const peers = await cliJson<{ agents: { id: string; node_key: { status: string } }[] }>(["peers"]);
    expect(peers.agents.map((a) => [a.id, a.node_key.status])).toEqual([["cli-node", "active"]]);
    const jobs = await cliJson<{ tasks: unknown[] }>(["jobs", "--limit", "3"]);
    expect(jobs.tasks).toHaveLength(3);
    const ledger = await cliJson<{ entries: { signed: boolean; outcome: string }[] }>([
      "ledger",
      "--node",
      "cli-node",
    ]);
    expect(ledger.entries).toHaveLength(5);
    expect(ledger.entries.every((e) => e.signed && e.outcome === "valid")).toBe(true);
    const summary = await cliJson<{ nodes: { agent_id: string; validated: number }[] }>([
      "ledger",
      "--summary",
    ]);
    expect(summary.nodes).toEqual([
      expect.objectContaining({ agent_id: "cli-node", validated: 5, invalid: 0 }),
    ]);
    expect(await cliJson(["ui"])).toEqual({ url: `${mesh.url}/`, opened: false });
    const token = await cliJson<{ token: string }>(["token", "create", "--agent", "cli-other"]);
    expect(token.token.length).toBeGreaterThan(20);

    const text = await cli(["ledger", "--summary"]);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/cli-node\s+\d+\s+5\s+0/);
    const bad = await cli(["jobs", "--status", "nope"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--status must be one of/);
  });

  it("export writes a bundle that audit passes, without modifying it; aggregate writes the validated results", async () => {
    const exported = await cliJson<{ counts: { entries: number; receipts: number; nodes: number } }>([
      "export",
      bundle,
    ]);
    expect(exported.counts).toEqual({ entries: 5, receipts: 5, nodes: 1 });
    const before = snapshot(bundle);
    const audit = await cliJson<{ ok: boolean; checked: Record<string, number> }>(["audit", bundle]);
    expect(audit).toMatchObject({
      ok: true,
      checked: { entries: 5, receipts: 5, signatures: 5, proofs: 5, keys: 1 },
    });
    expect(snapshot(bundle)).toEqual(before);
    const text = await cli(["audit", bundle]);
    expect(text).toMatchObject({ code: 0, out: expect.stringMatching(/^audit passed: 5 ledger entries/) });

    const out = join(root, "aggregate.json");
    const agg = await cliJson<{ count: number }>(["aggregate", "--out", out]);
    expect(agg.count).toBe(5);
    const artifact = JSON.parse(readFileSync(out, "utf8"));
    expect(artifact).toMatchObject({ format: "m3shd-aggregate", version: 1, count: 5 });
    expect(artifact.results.map((r: { job_type: string }) => r.job_type).sort()).toEqual([
      "echo",
      "keyword_extract",
      "text_chunk",
      "text_embed",
      "text_stats",
    ]);
  });

  it("fails, naming the entry, when any byte of a receipt, a ledger entry or the checkpoint changes", async () => {
    const receiptFile = readdirSync(join(bundle, "receipts"))[0] as string;
    const taskId = receiptFile.replace(/\.json$/, "");
    const ledgerLines = readFileSync(join(bundle, "ledger.jsonl"), "utf8").split("\n");
    const firstEntryId = (JSON.parse(ledgerLines[0] ?? "{}") as { id: string }).id;
    const cases: { file: string; names: RegExp }[] = [
      { file: join("receipts", receiptFile), names: new RegExp(`receipt ${taskId}|ledger entry led_`) },
      { file: "ledger.jsonl", names: /ledger entry led_|ledger\.jsonl line 1/ },
      { file: "checkpoints.json", names: /checkpoint/ },
    ];
    let audits = 0;
    for (const { file, names } of cases) {
      const original = readFileSync(join(bundle, file));
      // Every byte that carries meaning (letters and digits; the JSON punctuation and layout carry
      // none of their own), replaced by another of its kind; for the ledger, the first entry's line.
      const end = file === "ledger.jsonl" ? (ledgerLines[0]?.length ?? 0) : original.length;
      const scratch = join(root, `tamper-${audits}`);
      cpSync(bundle, scratch, { recursive: true });
      for (let i = 0; i < end; i++) {
        const byte = original[i] as number;
        const swapped = swap(byte);
        if (swapped === null) continue;
        const tampered = Buffer.from(original);
        tampered[i] = swapped;
        writeFileSync(join(scratch, file), tampered);
        const result = auditBundle(scratch);
        audits++;
        expect(
          result.ok,
          `${file} byte ${i} (${String.fromCharCode(byte)}→${String.fromCharCode(swapped)})`,
        ).toBe(false);
        expect(result.problems.join("\n"), `${file} byte ${i}`).toMatch(names);
      }
      rmSync(scratch, { recursive: true, force: true });
    }
    expect(audits).toBeGreaterThan(1000);

    // Through the command: exit 1, the entry named.
    const scratch = join(root, "tamper-cli");
    cpSync(bundle, scratch, { recursive: true });
    const line = JSON.parse(ledgerLines[0] ?? "{}");
    line.units += 1;
    writeFileSync(join(scratch, "ledger.jsonl"), [JSON.stringify(line), ...ledgerLines.slice(1)].join("\n"));
    const res = await cli(["audit", scratch]);
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/^audit failed/);
    expect(res.out).toContain(
      `ledger entry ${firstEntryId} (ledger.jsonl line 1): entry_hash does not match its fields`,
    );
  });
});

/** Another letter or digit in place of this one (null for bytes that are not letters or digits). */
function swap(byte: number): number | null {
  if (byte >= 0x30 && byte <= 0x39) return byte === 0x39 ? 0x30 : byte + 1;
  if (byte >= 0x61 && byte <= 0x7a) return byte === 0x7a ? 0x61 : byte + 1;
  if (byte >= 0x41 && byte <= 0x5a) return byte === 0x5a ? 0x41 : byte + 1;
  return null;
}

/** Every file of a directory with its bytes and mtime. */
function snapshot(dir: string): Record<string, [string, number]> {
  const out: Record<string, [string, number]> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, name.name);
      if (name.isDirectory()) walk(p);
      else out[p] = [readFileSync(p, "base64"), statSync(p).mtimeMs];
    }
  };
  walk(dir);
  return out;
}
