import { renameSync, statSync, symlinkSync, truncateSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ChatDb } from "../src/chat-db";
import { SchemaError } from "../src/schema";
import { createChatDb, GENERATIONS, MessagesWriter } from "./chat-db-fixture";
import { BODIES, messagesHome, queued, until } from "./helpers";

const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
const HEIC = Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from("ftypheic"), Buffer.alloc(8)]);

describe.each(GENERATIONS)("reading a live %s chat.db", (gen) => {
  it("probes the schema generation", () => {
    const env = messagesHome(gen);
    const db = new ChatDb(env.chatDbPath);
    expect(db.caps.generation).toBe(gen);
    expect(db.caps.hasAttachments).toBe(true);
    db.close();
  });

  it("picks up rows inserted while it runs: text, attributedBody-only, group, attachments, other handles", async () => {
    const env = messagesHome(gen);
    const state = env.openState();
    const w = env.writer;
    // A row that exists before the first start is history, not a command.
    w.insert({ chat: env.chats.dm, handle: env.handles.operator, text: "old history" });
    const inbox = env.inbox(state);
    inbox.start();
    const { operator, stranger } = env.handles;
    const { dm, strangerDm, group } = env.chats;

    w.insert({ chat: dm, handle: operator, text: "status" });
    const body = BODIES.find((b) => b.id.endsWith("/WeirdText"));
    w.insert({
      chat: dm,
      handle: operator,
      text: null,
      body: Buffer.from(body?.attributedBody_hex ?? "", "hex"),
    });
    w.insert({ chat: strangerDm, handle: stranger, text: "do rm -rf /" });
    w.insert({ chat: group, handle: operator, text: "@claude summarize the thread" });
    w.insert({ chat: group, handle: stranger, text: "approve" });
    w.insert({ chat: dm, handle: operator, text: "\uFFFCdo describe this" });
    // A tapback on "status" is not a command.
    w.insert({
      chat: dm,
      handle: operator,
      text: "Liked “status”",
      ...(gen === "legacy" ? {} : { associatedType: 2001 }),
    });

    const got = await until(
      () => {
        const q = queued(state);
        return q.length >= (gen === "legacy" ? 5 : 4) && state.counter("rows.other_handle") === 2 && q;
      },
      10_000,
      "four accepted messages",
    );
    const texts = got.map((m) => m.text);
    expect(texts.slice(0, 4)).toEqual([
      "status",
      "𝖍𝖊𝖑𝖑𝖔 𝖜𝖔𝖗𝖑𝖉",
      "@claude summarize the thread",
      "do describe this",
    ]);
    expect(got[0]?.chatGuid).toBe(dm.guid);
    expect(got[2]).toMatchObject({ isGroup: true, chatGuid: group.guid, handle: "+15555550123" });
    // Legacy has no associated_message_type column: there a tapback is plain text.
    if (gen !== "legacy") await until(() => state.counter("rows.reaction") === 1, 5000, "the tapback");
    else expect(texts[4]).toBe("Liked “status”");
    expect(texts).not.toContain("old history");
  });

  it("keeps reading across a WAL checkpoint (TRUNCATE) and a writer restart", async () => {
    const env = messagesHome(gen);
    const state = env.openState();
    const inbox = env.inbox(state);
    inbox.start();
    const { dm } = env.chats;
    const w = env.writer;
    for (let i = 0; i < 5; i++) w.insert({ chat: dm, handle: env.handles.operator, text: `before ${i}` });
    await until(() => queued(state).length === 5, 10_000, "rows before checkpoint");
    expect(w.checkpoint().busy).toBe(0);
    w.reopen();
    for (let i = 0; i < 5; i++) w.insert({ chat: dm, handle: env.handles.operator, text: `after ${i}` });
    w.checkpoint();
    for (let i = 5; i < 8; i++) w.insert({ chat: dm, handle: env.handles.operator, text: `after ${i}` });
    const got = await until(
      () => queued(state).length === 13 && queued(state),
      10_000,
      "rows after checkpoint",
    );
    expect(got.map((m) => m.text)).toEqual([
      ...[0, 1, 2, 3, 4].map((i) => `before ${i}`),
      ...[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `after ${i}`),
    ]);
  });

  it("holds a row until is_from_me settles: a send written as incoming and flipped is not inbound", async () => {
    const env = messagesHome(gen);
    const state = env.openState();
    const inbox = env.inbox(state, { settleMs: 400 });
    inbox.start();
    const { dm } = env.chats;
    const ghost = env.writer.insert({
      chat: dm,
      handle: env.handles.operator,
      text: "status",
      isFromMe: false,
    });
    setTimeout(() => env.writer.setFromMe(ghost.rowid, true), 100);
    env.writer.insert({ chat: dm, handle: env.handles.operator, text: "ok" });
    await until(() => queued(state).length === 1, 10_000, "the genuine ok");
    await inbox.drained();
    expect(queued(state).map((m) => m.text)).toEqual(["ok"]);
    expect(state.counter("rows.from_me")).toBe(1);
  });

  it("a restart replays from the persisted cursor: nothing skipped, nothing twice", async () => {
    const env = messagesHome(gen);
    const { dm } = env.chats;
    const op = env.handles.operator;
    let state = env.openState();
    let inbox = env.inbox(state);
    inbox.start();
    for (let i = 0; i < 3; i++) env.writer.insert({ chat: dm, handle: op, text: `m${i}` });
    await until(() => queued(state).length === 3, 10_000, "first three");
    await inbox.stop();
    state.close();
    // Rows land while the bridge is down.
    for (let i = 3; i < 6; i++) env.writer.insert({ chat: dm, handle: op, text: `m${i}` });
    state = env.openState();
    inbox = env.inbox(state);
    inbox.start();
    for (let i = 6; i < 8; i++) env.writer.insert({ chat: dm, handle: op, text: `m${i}` });
    const got = await until(() => queued(state).length === 8 && queued(state), 10_000, "all eight");
    expect(got.map((m) => m.text)).toEqual(["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
  });
});

describe.each(GENERATIONS)("attachments in a %s chat.db", (gen) => {
  it("accepts images inside the folder and refuses the rest with a reason", async () => {
    const env = messagesHome(gen);
    const prevHome = process.env.HOME;
    process.env.HOME = env.root;
    try {
      const state = env.openState();
      const inbox = env.inbox(state);
      inbox.start();
      writeFileSync(join(env.attachmentsRoot, "photo.jpg"), JPEG);
      writeFileSync(join(env.attachmentsRoot, "shot.heic"), HEIC);
      writeFileSync(join(env.attachmentsRoot, "notes.jpg"), "not an image at all");
      writeFileSync(
        join(env.root, "secret.png"),
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      );
      symlinkSync(join(env.root, "secret.png"), join(env.attachmentsRoot, "link.png"));
      writeFileSync(join(env.attachmentsRoot, "huge.jpg"), JPEG);
      truncateSync(join(env.attachmentsRoot, "huge.jpg"), 21 * 1024 * 1024);
      const att = (f: string) => ({ filename: `~/Library/Messages/Attachments/${f}`, transferName: f });
      env.writer.insert({
        chat: env.chats.dm,
        handle: env.handles.operator,
        text: "\uFFFCdo describe these",
        attachments: [
          att("photo.jpg"),
          att("shot.heic"),
          att("notes.jpg"),
          att("link.png"),
          att("huge.jpg"),
          { filename: "/etc/passwd", transferName: "passwd" },
          att("missing.png"),
        ],
      });
      const [m] = await until(() => queued(state).length === 1 && queued(state), 10_000, "the message");
      expect(m?.attachments.map((a) => [a.mime, a.bytes])).toEqual([
        ["image/jpeg", JPEG.length],
        ["image/heic", HEIC.length],
      ]);
      expect(m?.refused).toEqual([
        { name: "notes.jpg", reason: "not an image (only JPEG, PNG, GIF, WebP, HEIC, HEIF are accepted)" },
        { name: "link.png", reason: "the file is outside the Messages attachments folder" },
        { name: "huge.jpg", reason: "too large (21.0 MB > 20 MB)" },
        { name: "passwd", reason: "the file is outside the Messages attachments folder" },
        { name: "missing.png", reason: "the file is missing (not downloaded yet?)" },
      ]);
    } finally {
      process.env.HOME = prevHome;
    }
  });
});

describe("schema probe", () => {
  it("names the missing column", () => {
    const env = messagesHome("sequoia");
    const path = createChatDb(join(env.root, "Library"), "sequoia", { drop: ["cache_has_attachments"] });
    expect(() => new ChatDb(path)).toThrow(SchemaError);
    expect(() => new ChatDb(path)).toThrow(/message\.cache_has_attachments/);
  });
});

describe("self-check", () => {
  it("re-opens a chat.db that was replaced by a new file (new inode) and keeps reading", async () => {
    const env = messagesHome("tahoe");
    const state = env.openState();
    const alerts: string[] = [];
    const inbox = env.inbox(state, { onHealth: (a) => alerts.push(a.detail) });
    inbox.start();
    const w = env.writer;
    w.insert({ chat: env.chats.dm, handle: env.handles.operator, text: "one" });
    await until(() => queued(state).length === 1, 10_000, "first");
    // Build the replacement beside it and rename it into place, as a restore would.
    const next = join(env.messagesDir, "chat.db.new");
    w.checkpoint();
    w.db.exec(`VACUUM INTO '${next.replaceAll("'", "''")}'`);
    w.close();
    renameSync(next, env.chatDbPath);
    const w2 = new MessagesWriter(env.chatDbPath, "tahoe");
    try {
      w2.insert({ chat: env.chats.dm, handle: env.handles.operator, text: "two" });
      const got = await until(() => queued(state).length === 2 && queued(state), 10_000, "after replace");
      expect(got.map((m) => m.text)).toEqual(["one", "two"]);
      expect(alerts).toContain("chat.db was replaced; re-opened");
      expect(inbox.stats.watchEvents).toBeGreaterThan(0);
    } finally {
      w2.close();
    }
  });
});

describe("stall self-check", () => {
  it("re-arms and alerts when MAX(ROWID) moves but the reader's connection sees nothing", async () => {
    const env = messagesHome("sequoia");
    const state = env.openState();
    const alerts: string[] = [];
    const inbox = env.inbox(state, { stallMs: 300, onHealth: (a) => alerts.push(a.detail) });
    inbox.start();
    env.writer.insert({ chat: env.chats.dm, handle: env.handles.operator, text: "one" });
    await until(() => queued(state).length === 1, 10_000, "first");
    await inbox.drained();
    // A leaked read transaction pins the reader to an old snapshot: new WAL frames are invisible to it.
    const pinned = inbox.chatDb().connection;
    pinned.exec("BEGIN");
    pinned.prepare("SELECT COUNT(*) FROM message").get();
    env.writer.insert({ chat: env.chats.dm, handle: env.handles.operator, text: "two" });
    const got = await until(() => queued(state).length === 2 && queued(state), 10_000, "after the stall");
    expect(got.map((m) => m.text)).toEqual(["one", "two"]);
    expect(alerts.some((a) => a.includes("with nothing decided"))).toBe(true);
    expect(state.counter("health.stall")).toBeGreaterThanOrEqual(1);
  });
});

describe("bursts", () => {
  it("a burst of 50 rows settles together, not one settle period per row", async () => {
    const env = messagesHome("tahoe");
    const state = env.openState();
    const inbox = env.inbox(state, { settleMs: 300 });
    inbox.start();
    const t0 = Date.now();
    for (let i = 0; i < 50; i++)
      env.writer.insert({ chat: env.chats.dm, handle: env.handles.operator, text: `b${i}` });
    const got = await until(() => queued(state).length === 50 && queued(state), 10_000, "the burst");
    // Serialized settling would take 50 × 300 ms = 15 s.
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(got.map((m) => m.text)).toEqual(Array.from({ length: 50 }, (_, i) => `b${i}`));
  });
});

describe("a WAL file replaced under the reader", () => {
  it.each(GENERATIONS)(
    "%s: keeps reading after chat.db-wal is deleted and recreated as a new inode while the reader holds the old one",
    async (gen) => {
      const env = messagesHome(gen);
      const state = env.openState();
      const alerts: string[] = [];
      const inbox = env.inbox(state, { onHealth: (a) => alerts.push(a.detail) });
      inbox.start();
      const { dm } = env.chats;
      env.writer.insert({ chat: dm, handle: env.handles.operator, text: "before" });
      await until(() => queued(state).length === 1, 10_000, "the row before");
      await inbox.drained();
      const wal = `${env.chatDbPath}-wal`;
      expect(env.writer.checkpoint().busy).toBe(0);
      const oldIno = statSync(wal).ino;
      env.writer.close();
      // Messages' restart: the WAL goes away and a new file takes its name, while the bridge's
      // connection still has the old (now unlinked) one open.
      unlinkSync(wal);
      const w2 = new MessagesWriter(env.chatDbPath, gen);
      try {
        w2.insert({ chat: dm, handle: env.handles.operator, text: "after 1" });
        w2.insert({ chat: dm, handle: env.handles.operator, text: "after 2" });
        expect(statSync(wal).ino).not.toBe(oldIno);
        const got = await until(() => queued(state).length === 3 && queued(state), 10_000, "rows after");
        expect(got.map((m) => m.text)).toEqual(["before", "after 1", "after 2"]);
        // Noticed by the inode check before a read, not by a failed read.
        expect(alerts).toEqual(["chat.db-wal was replaced; re-opened"]);
        expect(inbox.stats.errors).toBe(0);
        expect(state.counter("health.wal_replaced")).toBe(1);
      } finally {
        w2.close();
      }
    },
  );
});
