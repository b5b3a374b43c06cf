/**
 * Inbound latency of the iMessage bridge, end to end: a row inserted into a live chat.db (real
 * Tahoe schema, WAL) → decided and queued by the bridge → the task created on a real hub (an
 * embedded mesh in this process, real HTTP through `@m3shd/client`), with the production settle
 * (500 ms) and poll (2 s). The texts are chat, so no reply is sent (no osascript runs).
 *
 * `imessage.inbound_to_task_ms`: p50 from the insert to the hub's `created_at` of the task.
 * `imessage.inbound_to_queue_p50_ms`: p50 from the insert to the bridge's own queue (kept from
 * before the hub was reachable, to tell the reader's share from the hub round-trip's).
 * Prints one JSON line. The mesh bench runs it as a child (`pnpm bench --only imessage`).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@m3shd/client";
import { startMesh } from "@m3shd/mesh";
import { pino } from "pino";
import { createBridge } from "../src/bridge";
import { createHubPort } from "../src/hub-client";
import { createChatDb, MessagesWriter } from "../test/chat-db-fixture";

const N = Number(process.env.M3SHD_BENCH_IMESSAGE_ROWS ?? 40);
const MASTER = `bench-imessage-${process.pid}-0123456789abcdef0123456789`;
const HANDLE = "+15555550123";
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

const root = mkdtempSync(join(tmpdir(), "m3shd-imsg-bench-"));
const mesh = await startMesh({
  dataDir: join(root, "mesh"),
  port: 0,
  masterToken: MASTER,
  memory: { enabled: false },
  logger: pino({ level: "warn" }),
});
try {
  const dir = join(root, "Messages");
  mkdirSync(join(dir, "Attachments"), { recursive: true });
  const path = createChatDb(dir, "tahoe");
  const w = new MessagesWriter(path, "tahoe");
  const h = w.handle(HANDLE);
  const chat = w.chat({ handles: [h], identifier: HANDLE });
  const queuedAt = new Map<string, number>();
  const bridge = createBridge({
    hub: createHubPort({ baseUrl: mesh.url, token: MASTER }),
    logger: pino({ level: "warn" }),
    config: {
      chatDbPath: path,
      attachmentsRoot: join(dir, "Attachments"),
      dataDir: join(root, "bridge"),
      handles: [HANDLE],
      relayPrefix: "⟐ ",
      pollMs: 2000,
      settleMs: 500,
      sendsPerHour: 60,
      startAt: "latest",
      subtaskCapability: "general",
      router: { doCapability: "general", planCapability: "plan", chatCapability: "chat" },
      // Called once the row is decided and queued (the bridge's own onAccepted then wakes delivery).
      inbox: { onDecided: (row, d) => d === "accepted" && row.text && queuedAt.set(row.text, Date.now()) },
    },
  });
  bridge.start();
  log(`imessage: ${N} rows → tasks on the hub…`);
  const insertedAt = new Map<string, number>();
  for (let i = 0; i < N; i++) {
    const text = `bench ${i}`;
    insertedAt.set(text, Date.now());
    w.insert({ chat, handle: h, text });
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
  }
  const hub = createClient({ baseUrl: mesh.url, token: MASTER });
  const createdAt = new Map<string, number>();
  const deadline = Date.now() + 30_000;
  while (createdAt.size < N && Date.now() < deadline) {
    for (const t of (await hub.tasks.list({ query: { limit: 200 } })).body.tasks)
      createdAt.set(t.prompt, t.created_at);
    if (createdAt.size < N) await new Promise((r) => setTimeout(r, 100));
  }
  await bridge.stop();
  w.close();
  const pct = (m: Map<string, number>, q: number) => {
    const lat = [...insertedAt]
      .map(([text, t]) => (m.get(text) ?? Number.NaN) - t)
      .filter((x) => !Number.isNaN(x))
      .sort((a, b) => a - b);
    return Math.round(lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? -1);
  };
  process.stdout.write(
    `${JSON.stringify({
      "imessage.inbound_to_task_ms": pct(createdAt, 0.5),
      "imessage.inbound_to_task_p99_ms": pct(createdAt, 0.99),
      "imessage.inbound_to_queue_p50_ms": pct(queuedAt, 0.5),
      "imessage.inbound_to_queue_p99_ms": pct(queuedAt, 0.99),
      "imessage.inbound_lost": N - [...insertedAt.keys()].filter((t) => createdAt.has(t)).length,
    })}\n`,
  );
} finally {
  await mesh.close();
  rmSync(root, { recursive: true, force: true });
}
