/**
 * Bridge-side inbound latency: a row inserted into a live chat.db (real Tahoe schema, WAL) →
 * decided and queued for the hub, with the production settle (500 ms) and poll (2 s). Prints one
 * JSON line. The mesh bench runs it as a child (`pnpm bench --only imessage`).
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HandleFilter } from "../src/handles";
import { Inbox } from "../src/inbox";
import { BridgeState } from "../src/state";
import { createChatDb, MessagesWriter } from "../test/chat-db-fixture";

const N = Number(process.env.M3SHD_BENCH_IMESSAGE_ROWS ?? 40);
const root = mkdtempSync(join(tmpdir(), "m3shd-imsg-bench-"));
try {
  const dir = join(root, "Messages");
  mkdirSync(join(dir, "Attachments"), { recursive: true });
  const path = createChatDb(dir, "tahoe");
  const w = new MessagesWriter(path, "tahoe");
  const h = w.handle("+15555550123");
  const chat = w.chat({ handles: [h], identifier: "+15555550123" });
  const state = new BridgeState(join(root, "bridge.db"));
  const accepted = new Map<string, number>();
  const inbox = new Inbox(state, {
    chatDbPath: path,
    attachmentsRoot: join(dir, "Attachments"),
    filter: new HandleFilter(["+15555550123"]),
    relayPrefix: "⟐ ",
    pollMs: 2000,
    settleMs: 500,
    echoWindowMs: 600_000,
    stallMs: 15_000,
    startAt: "latest",
    onAccepted: (m) => accepted.set(m.guid, performance.now()),
  });
  inbox.start();
  const inserted = new Map<string, number>();
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    const { guid } = w.insert({ chat, handle: h, text: `bench ${i}` });
    inserted.set(guid, t);
    await new Promise((r) => setTimeout(r, 50 + Math.random() * 100));
  }
  const deadline = Date.now() + 30_000;
  while (accepted.size < N && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const lat = [...inserted].map(([g, t]) => (accepted.get(g) ?? Number.NaN) - t).sort((a, b) => a - b);
  const p = (q: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] ?? -1);
  await inbox.stop();
  state.close();
  w.close();
  process.stdout.write(
    `${JSON.stringify({ "imessage.inbound_to_queue_p50_ms": p(0.5), "imessage.inbound_to_queue_p99_ms": p(0.99), "imessage.inbound_lost": N - accepted.size })}\n`,
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
