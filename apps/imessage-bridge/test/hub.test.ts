import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { RetryableError } from "../src/deliverer";
import { runDoctor } from "../src/doctor";
import { createHubPort, HubRefusal, idempotencyKey } from "../src/hub-client";
import type { HubPort } from "../src/hub-port";
import { Relay } from "../src/relay";
import { Router } from "../src/router";
import { BridgeState, type InboundMessage } from "../src/state";
import { OPERATOR, until } from "./helpers";
import { allTasks, MASTER, operator, playAgent, startTestMesh } from "./mesh-fixture";

const DM = `iMessage;-;${OPERATOR}`;
const OPTIONS = { doCapability: "general", planCapability: "plan", chatCapability: "chat" };

function tempState(): BridgeState {
  const dir = mkdtempSync(join(tmpdir(), "m3shd-imsg-state-"));
  const state = new BridgeState(join(dir, "bridge.db"));
  onTestFinished(() => {
    state.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return state;
}

let rowid = 0;
/** One accepted inbound message, as the inbox queues it. */
function inbound(text: string, over: Partial<InboundMessage> = {}): InboundMessage {
  rowid++;
  return {
    guid: randomUUID().toUpperCase(),
    rowid,
    handle: OPERATOR,
    chatGuid: DM,
    isGroup: false,
    text,
    attachments: [],
    refused: [],
    dateMs: Date.now(),
    seenAtMs: Date.now(),
    ...over,
  };
}

async function setup() {
  const mesh = await startTestMesh();
  const hub = createHubPort({ baseUrl: mesh.url, token: MASTER, preferredCapability: "general" });
  const state = tempState();
  const router = new Router(hub, state, OPTIONS);
  /** The replies the router words for one message. */
  const say = async (text: string, over: Partial<InboundMessage> = {}) =>
    (await router.handle(inbound(text, over))).replies.join("\n");
  return { mesh, hub, state, router, say, op: operator(mesh.url) };
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === "object" && addr ? addr.port : 1));
    });
  });
}

describe("the HubPort over @m3shd/client, against a real hub", () => {
  it("creates one task per message GUID: a redelivery gets the first task back", async () => {
    const { mesh, hub } = await setup();
    const input = {
      key: "8F0C2A4E-1D6B-4C3A-9E7F-2B5D8A1C6E90",
      title: "t",
      prompt: "p",
      capability: "general",
    };
    const first = await hub.createTask(input);
    const again = await hub.createTask(input);
    expect(again.id).toBe(first.id);
    expect((await allTasks(mesh.url)).map((t) => t.id)).toEqual([first.id]);
    // Keys the hub cannot take as they are (spaces, non-ASCII, too long) are hashed, stably.
    expect(idempotencyKey("a b")).toBe(idempotencyKey("a b"));
    expect(idempotencyKey("a b")).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(idempotencyKey("x".repeat(201))).toMatch(/^sha256:/);
  });

  it("sorts failures: unreachable and a refused token wait for a retry, a refusal keeps the hub's words", async () => {
    const { mesh, hub } = await setup();
    const down = createHubPort({ baseUrl: `http://127.0.0.1:${await closedPort()}`, token: MASTER });
    await expect(down.listTasks(1)).rejects.toBeInstanceOf(RetryableError);
    const badToken = createHubPort({ baseUrl: mesh.url, token: "not-the-token-not-the-token-not-the-token" });
    await expect(badToken.createTask({ key: "k", title: "t", prompt: "p" })).rejects.toBeInstanceOf(
      RetryableError,
    );
    const refusal = await hub
      .createTask({ key: "k2", title: "t", prompt: "p", assignTo: "ghost" })
      .catch((e) => e);
    expect(refusal).toBeInstanceOf(HubRefusal);
    expect(refusal).toMatchObject({ status: 404, message: "agent ghost not found" });
  });

  it("doctor: the hub is reachable and the token is checked with auth.me", async () => {
    const { mesh, hub } = await setup();
    const base = {
      chatDbPath: "/nonexistent/chat.db",
      dataDir: mkdtempSync(join(tmpdir(), "m3shd-doc-")),
      handles: [OPERATOR],
    };
    const byName = async (h: HubPort, hasToken = true) =>
      Object.fromEntries((await runDoctor({ ...base, hub: h, hasToken })).map((c) => [c.name, c]));

    const good = await byName(hub);
    expect(good.hub).toMatchObject({ ok: true });
    expect(good.hub?.detail).toContain(": ok (version");
    expect(good.token).toMatchObject({
      ok: true,
      detail: "accepted as master (master); every command is allowed",
    });

    const wrong = await byName(
      createHubPort({ baseUrl: mesh.url, token: "wrong-token-wrong-token-wrong-token-00" }),
    );
    expect(wrong.hub?.ok).toBe(true);
    expect(wrong.token).toMatchObject({ ok: false, detail: "the hub refused the token (401)" });
    expect(wrong.token?.fix).toMatch(/M3SHD_TOKEN_FILE/);

    // A token that may read but not create tasks is not enough.
    const minted = (
      await operator(mesh.url).tokens.create({ body: { agent_id: "reader", permissions: ["tasks:read"] } })
    ).body as { token: string };
    const weak = await byName(createHubPort({ baseUrl: mesh.url, token: minted.token }));
    expect(weak.token).toMatchObject({ ok: false });
    expect(weak.token?.detail).toMatch(/lacks tasks:write/);

    expect((await byName(hub, false)).token).toMatchObject({ ok: false, detail: "no token configured" });

    const down = createHubPort({ baseUrl: `http://127.0.0.1:${await closedPort()}`, token: MASTER });
    const off = await byName(down);
    expect(off.hub).toMatchObject({ ok: false, fix: expect.stringMatching(/M3SHD_HUB/) });
    expect(off.hub?.detail).toMatch(/ECONNREFUSED/);
  });
});

describe("the router: each command against a real hub", () => {
  it("status, tasks, @context, budget and summary word what the hub holds", async () => {
    const { mesh, say, op } = await setup();
    // Not `general`: the `do` task below stays queued.
    await playAgent(mesh.url, "ops-bot", ["chat", "plan"]);
    expect(await say("status")).toBe("Agents: 1/1 online. Tasks today: none.");
    expect(await say("tasks")).toBe("No tasks.");
    expect(await say("@context")).toBe("No shared context.");
    expect(await say("@context deploy.target = prod eu-west")).toBe("Set deploy.target = prod eu-west");
    expect((await op.context.get({ params: { key: "deploy.target" } })).body.entry.value).toBe(
      "prod eu-west",
    );
    expect(await say("@context")).toBe("deploy.target = prod eu-west");

    expect(await say("budget")).toMatch(/^@ops-bot: 0 used/);
    expect(await say("budget ops-bot 50k")).toBe("Budget for @ops-bot: 50000 tokens/day.");
    expect((await op.agents.settings({ params: { id: "ops-bot" } })).body.settings.daily_token_cap).toBe(
      50_000,
    );
    expect(await say("budget")).toBe("@ops-bot: 0 used of 50000/day");

    const queued = await say("do write the release notes");
    const id = queued.match(/^Queued (task_\w+)\.$/)?.[1];
    expect(id).toBeDefined();
    expect(await say("status")).toBe("Agents: 1/1 online. Tasks today: queued 1.");
    expect(await say("tasks")).toBe(`${id} [queued] write the release notes`);
    const summary = await say("summary");
    expect(summary).toContain("tasks: 1");
    expect(summary).toContain("agents online: 1/1");
    expect(summary).toContain("pending approvals: 0");
  });

  it("do, @agent, auto and chat create one task per message, addressed as asked, and are watched", async () => {
    const { mesh, say, state, router, op } = await setup();
    await playAgent(mesh.url, "ops-bot", ["research", "general"]);

    const m = inbound("do summarize the logs");
    const first = (await router.handle(m)).replies[0];
    // A redelivery (a lost answer, a restart) answers the same and creates nothing.
    expect((await router.handle(m)).replies[0]).toBe(first);
    const id = first?.match(/^Queued (task_\w+)\.$/)?.[1] ?? "";
    expect(state.watchedTask(id)).toEqual({ chatGuid: DM, kind: "reply" });

    expect(await say("@ops-bot check the disk")).toMatch(
      /^Sent to @ops-bot: task_\w+ \((queued|assigned)\)\.$/,
    );
    expect(await say("auto ship v2")).toMatch(/^Planning "ship v2" \(task_\w+\)\.$/);
    // Chat answers with the agent's answer itself: no acknowledgement.
    const chat = inbound("how are you?");
    expect((await router.handle(chat)).replies).toEqual([]);
    await router.handle(chat);

    const tasks = await allTasks(mesh.url);
    expect(tasks).toHaveLength(4);
    const by = (title: string) => tasks.find((t) => t.title.includes(title));
    expect(by("summarize the logs")).toMatchObject({
      required_capability: "general",
      prompt: "summarize the logs",
    });
    expect(by("check the disk")).toMatchObject({ assign_to: "ops-bot", required_capability: "general" });
    expect(by("ship v2")).toMatchObject({ required_capability: "plan" });
    expect(by("ship v2")?.prompt).toMatch(/2 to 5 independent subtasks[\s\S]*Goal: ship v2$/);
    expect(by("how are you?")).toMatchObject({ required_capability: "chat", prompt: "how are you?" });
    // The chat is in the hub's chat log, on the chat's channel, once.
    const log = (await op.messages.list({ query: { channel: "imessage:+15555550123" } })).body.messages;
    expect(log.map((x) => x.content)).toEqual(["how are you?"]);

    await expect(router.handle(inbound("@ghost hello"))).rejects.toThrow("agent ghost not found");
  });

  it("pending, approve and reject decide the agent's requests, asking which when several wait", async () => {
    const { mesh, say, router, op } = await setup();
    const agent = await playAgent(mesh.url, "deployer", ["general"]);
    expect(await say("pending")).toBe("Nothing is waiting for approval.");
    expect(await say("approve")).toBe("Nothing is waiting for approval.");
    const a = await agent.requestApproval("deploy", "ship v2 to prod");
    expect(await say("pending")).toBe(`${a.id}: @deployer deploy: ship v2 to prod`);
    const approve = inbound("approve");
    expect((await router.handle(approve)).replies).toEqual([`Approved ${a.id}.`]);
    expect((await op.approvals.get({ params: { id: a.id } })).body.approval.status).toBe("approved");
    // Redelivered after the decision went through (the hub says 409): still a success.
    expect((await router.handle(inbound(`approve ${a.id}`))).replies).toEqual([`Approved ${a.id}.`]);

    const b = await agent.requestApproval("send_email", "to all customers");
    const c = await agent.requestApproval("drop_table", "users");
    expect(await say("reject")).toBe(`2 approvals are pending; say which: ${c.id}, ${b.id}`);
    expect(await say(`reject ${c.id} too risky`)).toBe(`Rejected ${c.id}.`);
    const decided = (await op.approvals.get({ params: { id: c.id } })).body.approval;
    expect(decided).toMatchObject({ status: "rejected", decision_reason: "too risky" });
    expect(await say("approve")).toBe(`Approved ${b.id}.`);
    await expect(router.handle(inbound(`approve ${a.id.slice(0, -1)}Z`))).rejects.toThrow(/not found/);
  });

  it("escalations and costs: an agent's failure opens one, its spend is summed", async () => {
    const { mesh, say } = await setup();
    const agent = await playAgent(mesh.url, "flaky", ["general"]);
    expect(await say("escalations")).toBe("No open escalations.");
    expect(await say("costs")).toBe("Today: $0.0000");
    await say("do first job");
    await agent.complete(await agent.claim(), "fine", { model: "test-model", cost: 0.0123 });
    await say("do second job");
    const second = await agent.claim();
    // A retryable failure is the agent's (a non-retryable one is the task's and never escalates).
    await agent.fail(second, "boom", true);
    const escalations = await until(async () => {
      const text = await say("escalations");
      return text.startsWith("esc_") && text;
    });
    expect(escalations).toMatch(
      new RegExp(`^esc_\\w+ \\[open\\] @flaky: 1 consecutive failures; last on ${second.task.id}: boom$`),
    );
    const costs = await say("costs");
    expect(costs).toMatch(/^Today: \$0\.\d{4}\n@flaky: \$0\.\d{4} \(1500 tokens\)$/);
  });
});

/** A relay with its replies collected in order, started against `hub`. */
function startRelay(hub: HubPort, state: BridgeState) {
  const replies: { chat: string; text: string; link: string | null }[] = [];
  const reconciles: string[] = [];
  const errors: unknown[] = [];
  const relay = new Relay(hub, state, {
    reply: (chat, text, link) => replies.push({ chat, text, link }),
    flush: () => {},
    subtaskCapability: "general",
    onReconcile: (reason) => reconciles.push(reason),
    onError: (err) => errors.push(err),
  });
  relay.start();
  onTestFinished(() => relay.stop());
  return {
    relay,
    replies,
    errors,
    texts: () => replies.map((r) => r.text),
    /** The stream is open (its first re-read ran). */
    open: () => until(() => reconciles.length > 0, 10_000, "the stream to open"),
  };
}

describe("the relay: hub outcomes → replies, from the SSE stream", () => {
  it("answers a watched task once, however often its outcome is replayed or its message redelivered", async () => {
    const { mesh, hub, state, say } = await setup();
    const agent = await playAgent(mesh.url, "ops-bot", ["general"]);
    const r = startRelay(hub, state);
    await r.open();
    const m = inbound("do count to three");
    const router = new Router(hub, state, { ...OPTIONS, onWatch: (task) => r.relay.watched(task) });
    await router.handle(m);
    const claim = await agent.claim();
    await agent.complete(claim, "one two three");
    await until(() => r.replies.length === 1, 10_000, "the reply");
    expect(r.replies[0]).toEqual({
      chat: DM,
      text: "one two three",
      link: `${mesh.url}/#/tasks/${claim.task.id}`,
    });

    // Replay everything: a restart that lost its Last-Event-ID, and the same message again.
    await r.relay.stop();
    state.set("last_event_id", "evt_gone");
    const again = startRelay(hub, state);
    await again.open();
    await router.handle(m);
    await say("status");
    await again.relay.settled();
    expect(again.replies).toEqual([]);
    expect(state.watchedTaskIds()).toEqual([]);
  });

  it("ignores a failed attempt that will be retried, answers the final failure, follows a handoff", async () => {
    const { mesh, hub, state } = await setup();
    const agent = await playAgent(mesh.url, "ops-bot", ["general"]);
    const r = startRelay(hub, state);
    await r.open();
    const router = new Router(hub, state, { ...OPTIONS, onWatch: (task) => r.relay.watched(task) });
    await router.handle(inbound("do flaky thing"));
    const first = await agent.claim();
    await agent.fail(first, "transient", true);
    const second = await agent.claim();
    expect(second.task.id).toBe(first.task.id);
    expect(r.replies).toEqual([]);
    await agent.fail(second, "broken for good", false);
    await until(() => r.replies.length === 1, 10_000, "the failure reply");
    expect(r.texts()).toEqual(["✗ flaky thing failed: broken for good"]);

    await router.handle(inbound("do long essay"));
    const long = await agent.claim();
    const { continuation } = await agent.handoff(long, "half an essay");
    const next = await agent.claim();
    expect(next.task.id).toBe(continuation.id);
    await agent.complete(next, "the whole essay");
    await until(() => r.replies.length === 2, 10_000, "the continuation's reply");
    expect(r.texts()[1]).toBe("the whole essay");
  });

  it("catches up on what ended while it was away, and on a task that ended before it was watched", async () => {
    const { mesh, hub, state } = await setup();
    const agent = await playAgent(mesh.url, "ops-bot", ["general"]);
    const router = new Router(hub, state, OPTIONS);
    await router.handle(inbound("do while you were out"));
    await agent.complete(await agent.claim(), "done while away");
    const r = startRelay(hub, state);
    await until(() => r.replies.length === 1, 10_000, "the catch-up reply");
    expect(r.texts()).toEqual(["done while away"]);

    // The task ends, its event arrives, and only then is it watched (the create answer was slow).
    const task = await hub.createTask({
      key: randomUUID(),
      title: "quick",
      prompt: "quick",
      capability: "general",
    });
    await agent.complete(await agent.claim(), "fast answer");
    await until(async () => (await hub.getTask(task.id)).status === "done");
    await r.relay.settled();
    state.watchTask(task.id, DM, "reply", Date.now());
    r.relay.watched(task); // as created: still queued then

    await until(() => r.replies.length === 2, 10_000, "the late-watched reply");
    expect(r.texts()[1]).toBe("fast answer");

    // A crash after the hub created the task but before the watch was stored: the task ends,
    // the relay's re-read has passed, then the message is redelivered and gets the ended task.
    const m = inbound("do survive a crash");
    await hub.createTask({
      key: m.guid,
      title: "survive a crash",
      prompt: "survive a crash",
      capability: "general",
    });
    await agent.complete(await agent.claim(), "survived");
    await r.relay.stop();
    const restarted = startRelay(hub, state); // a new process: it never saw the task's event
    await restarted.open();
    await restarted.relay.settled();
    const router2 = new Router(hub, state, { ...OPTIONS, onWatch: (t) => restarted.relay.watched(t) });
    expect((await router2.handle(m)).replies[0]).toMatch(/^Queued task_\w+\.$/);
    await until(() => restarted.replies.length === 1, 10_000, "the redelivered message's reply");
    expect(restarted.texts()).toEqual(["survived"]);
  });

  it("auto: dispatches the planner's subtasks once, replies with the plan and then each result", async () => {
    const { mesh, hub, state } = await setup();
    const agent = await playAgent(mesh.url, "ops-bot", ["general", "plan"]);
    const r = startRelay(hub, state);
    await r.open();
    const router = new Router(hub, state, { ...OPTIONS, onWatch: (task) => r.relay.watched(task) });
    await router.handle(inbound("auto launch the blog"));
    const plan = await agent.claim();
    await agent.complete(
      plan,
      '```json\n[{"title":"Draft posts","prompt":"draft 3 posts"},{"title":"Pick a theme","prompt":"pick a theme"},{"title":"Set up domain","prompt":"set up the domain"}]\n```',
    );
    await until(() => r.replies.length === 1, 10_000, "the plan");
    expect(r.texts()[0]).toMatch(
      /^Split into 3 subtasks, running in parallel:\n1\. Draft posts \(task_\w+\)\n2\. Pick a theme \(task_\w+\)\n3\. Set up domain \(task_\w+\)$/,
    );
    const subs = (await allTasks(mesh.url)).filter((t) => t.id !== plan.task.id);
    expect(subs.map((t) => t.prompt).sort()).toEqual(["draft 3 posts", "pick a theme", "set up the domain"]);
    for (let i = 0; i < 3; i++) {
      const c = await agent.claim();
      await agent.complete(c, `result of ${c.task.prompt}`);
    }
    await until(() => r.replies.length === 4, 10_000, "three results");
    expect(r.texts().slice(1).sort()).toEqual([
      "✓ Draft posts: result of draft 3 posts",
      "✓ Pick a theme: result of pick a theme",
      "✓ Set up domain: result of set up the domain",
    ]);
    // The plan replayed (keys derive from the plan task): no second set of subtasks.
    await hub.createTask({
      key: `${plan.task.id}:sub:0`,
      title: "Draft posts",
      prompt: "draft 3 posts",
      capability: "general",
    });
    expect(await allTasks(mesh.url)).toHaveLength(4);
  });
});
