import { closeOutage, getTask, openOutage, transitionTask, upsertAgent } from "@m3shd/db";
import {
  AgentAnalyticsSchema,
  AgentSettingsSchema,
  ApprovalListResponseSchema,
  ApprovalResponseSchema,
  ContextEntrySchema,
  ContextListResponseSchema,
  CostAnalyticsSchema,
  DEPENDENT_TASK_MARKER,
  ErrorBodySchema,
  EscalationListResponseSchema,
  LIMITS,
  type MeshEvent,
  MessageListResponseSchema,
  MessageSchema,
  PARENT_OUTPUTS_HEADER,
  PipelineResponseSchema,
  SummaryAnalyticsSchema,
  TaskAnalyticsSchema,
  TaskSchema,
  TemplateListResponseSchema,
  TemplateSchema,
} from "@m3shd/protocol";
import { describe, expect } from "vitest";
import type { Hub } from "../src/app";
import { type client, hubTest as test } from "./fixture";

const task = { title: "t", prompt: "p", required_capability: "echo" };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

type Call = ReturnType<typeof client>;

/**
 * Registers `agent` if needed and moves a queued task onto it, running (the dispatcher's part and
 * the claim's, which opens the next attempt). Returns the attempt the claim opened.
 */
function runOn(hub: Hub, id: string, agent: string, now: number): number {
  const db = hub.ctx.database.db;
  upsertAgent(db, { id: agent, name: agent, capabilities: ["echo"], maxConcurrent: 64, now });
  const row = getTask(db, id);
  transitionTask(db, { id, from: "queued", to: "assigned", set: { assignedTo: agent }, now });
  const attempt = (row?.attempt ?? 0) + 1;
  transitionTask(db, {
    id,
    from: "assigned",
    to: "running",
    set: { attempts: (row?.attempts ?? 0) + 1, attempt },
    now,
  });
  return attempt;
}

async function complete(call: Call, hub: Hub, id: string, agent: string, now: number, extra = {}) {
  const attempt = runOn(hub, id, agent, now);
  const res = await call("PUT", `/api/tasks/${id}`, {
    body: { status: "done", output: `out of ${id}`, attempt, ...extra },
    headers: { "x-m3shd-agent": agent },
  });
  expect(res.status).toBe(200);
  return res.body.task;
}

async function fail(call: Call, hub: Hub, id: string, agent: string, now: number, extra = {}) {
  const attempt = runOn(hub, id, agent, now);
  const res = await call("PUT", `/api/tasks/${id}`, {
    body: { status: "failed", error: "boom", attempt, ...extra },
    headers: { "x-m3shd-agent": agent },
  });
  expect(res.status).toBe(200);
  return res.body.task;
}

function events(hub: Hub): MeshEvent[] {
  const list: MeshEvent[] = [];
  hub.ctx.queue.bus.subscribe((e) => list.push(e as MeshEvent));
  return list;
}

const error = (res: { body: unknown }) => ErrorBodySchema.parse(res.body).error;

describe("pipelines", () => {
  test("sequential steps chain: each waits for the previous one and receives its output", async ({
    hub,
    call,
    clock,
  }) => {
    const res = await call("POST", "/api/pipelines", {
      body: {
        name: "report",
        steps: [
          { name: "research", title: "Research", prompt: "find facts", required_capability: "echo" },
          { name: "summarize", title: "Summarize", prompt: "summarize", required_capability: "echo" },
          { name: "notify", title: "Notify", prompt: "send it", required_capability: "echo" },
        ],
      },
    });
    expect(res.status).toBe(201);
    const pipeline = PipelineResponseSchema.parse(res.body);
    expect(pipeline.steps.map((s) => s.name)).toEqual(["research", "summarize", "notify"]);
    const [r, s, n] = pipeline.tasks;
    expect([r?.status, s?.status, n?.status]).toEqual(["queued", "waiting", "waiting"]);
    expect(s?.depends_on).toEqual([r?.id]);
    expect(n?.depends_on).toEqual([s?.id]);

    await complete(call, hub, r?.id as string, "w1", clock.now);
    const released = TaskSchema.parse((await call("GET", `/api/tasks/${s?.id}`)).body.task);
    expect(released.status).toBe("queued");
    // The step's prompt stays as submitted; the parent's output is a part composed in front of it.
    expect(released.prompt).toBe("summarize");
    expect(released.prompt_parts.parents).toBe(
      `${PARENT_OUTPUTS_HEADER}\n\n=== Research (${r?.id}) ===\nout of ${r?.id}\n\n${DEPENDENT_TASK_MARKER}`,
    );
    expect(released.composed_prompt).toBe(
      `${PARENT_OUTPUTS_HEADER}\n\n=== Research (${r?.id}) ===\nout of ${r?.id}\n\n${DEPENDENT_TASK_MARKER}\nsummarize`,
    );
    expect((await call("GET", `/api/tasks/${n?.id}`)).body.task.status).toBe("waiting");

    // Every task of the pipeline shares one provenance chain.
    await complete(call, hub, s?.id as string, "w1", clock.now);
    const got = PipelineResponseSchema.parse(
      (await call("GET", `/api/pipelines/${pipeline.pipeline_id}`)).body,
    );
    expect(got.tasks.map((t) => t.status)).toEqual(["done", "done", "queued"]);
    const proof = await call("GET", `/api/tasks/${s?.id}/provenance`);
    expect(proof.body.chain_id).toBe(pipeline.pipeline_id);
    expect(proof.body.chain.map((l: { task_id: string }) => l.task_id)).toEqual([r?.id, s?.id]);
  });

  test("a DAG with template steps; a cycle is a 409 and nothing is written", async ({ call }) => {
    const diamond = await call("POST", "/api/pipelines", {
      body: {
        mode: "dag",
        steps: [
          { name: "top", template: "Research", variables: { topic: "tides" } },
          { name: "left", ...task, depends_on: ["top"] },
          { name: "right", ...task, depends_on: ["top"] },
          { name: "sink", ...task, depends_on: ["left", "right"] },
        ],
      },
    });
    expect(diamond.status).toBe(201);
    const body = PipelineResponseSchema.parse(diamond.body);
    const top = body.tasks[0];
    expect(top).toMatchObject({ title: "Research", required_capability: "research", status: "queued" });
    expect(top?.prompt).toContain("Research tides.");
    const sink = body.tasks.find((t) => t.id === body.steps[3]?.task_id);
    expect(sink?.depends_on.length).toBe(2);

    const before = (await call("GET", "/api/tasks?limit=500")).body.tasks.length;
    const cycle = await call("POST", "/api/pipelines", {
      body: {
        mode: "dag",
        steps: [
          { name: "a", ...task, depends_on: ["c"] },
          { name: "b", ...task, depends_on: ["a"] },
          { name: "c", ...task, depends_on: ["b"] },
          { name: "d", ...task },
        ],
      },
    });
    expect(cycle.status).toBe(409);
    expect(error(cycle)).toMatchObject({
      code: "conflict",
      details: { reason: "cycle", cycle: ["a", "c", "b", "a"] },
    });
    // A missing template variable or an unknown external parent also write nothing.
    const missingVar = await call("POST", "/api/pipelines", {
      body: { steps: [task, { template: "Summarize", variables: { topic: "x" } }] },
    });
    expect(missingVar.status).toBe(422);
    expect(error(missingVar).details).toMatchObject({ missing: ["target"], extra: ["topic"] });
    const ghost = await call("POST", "/api/pipelines", {
      body: { steps: [task, { ...task, after: ["task_01M89BYA656ZRM64XMTMSYM3QB"] }] },
    });
    expect(ghost.status).toBe(404);
    expect((await call("GET", "/api/tasks?limit=500")).body.tasks.length).toBe(before);
    expect(
      (
        await call("POST", "/api/pipelines", {
          body: { mode: "dag", steps: [{ ...task, depends_on: ["x"] }] },
        })
      ).status,
    ).toBe(422);
    expect((await call("POST", "/api/pipelines", { body: { steps: [] } })).status).toBe(422);
    expect((await call("POST", "/api/pipelines", { body: { steps: [task] }, token: null })).status).toBe(401);
    expect((await call("GET", "/api/pipelines/pipe_01M89BYA656ZRM64XMTMSYM3QB")).status).toBe(404);
  });

  test("adding dependencies refuses a cycle through existing tasks (recursive CTE)", async ({ call }) => {
    const a = (await call("POST", "/api/tasks", { body: task })).body.task;
    const b = (await call("POST", "/api/tasks", { body: { ...task, depends_on: [a.id] } })).body.task;
    const c = (await call("POST", "/api/tasks", { body: { ...task, depends_on: [b.id] } })).body.task;
    const refused = await call("POST", `/api/tasks/${a.id}/dependencies`, { body: { depends_on: [c.id] } });
    expect(refused.status).toBe(409);
    expect(error(refused).details).toMatchObject({ reason: "cycle", task_id: a.id, depends_on: c.id });
    // `a` is queued: it may only gain parents that are done.
    const d = (await call("POST", "/api/tasks", { body: task })).body.task;
    expect(
      (await call("POST", `/api/tasks/${a.id}/dependencies`, { body: { depends_on: [d.id] } })).status,
    ).toBe(409);
    // `c` is waiting: it can wait for one more.
    const ok = await call("POST", `/api/tasks/${c.id}/dependencies`, { body: { depends_on: [d.id] } });
    expect(ok.status).toBe(200);
    expect(ok.body.task.depends_on).toEqual([b.id, d.id].sort());
    expect((await call("POST", `/api/tasks/${c.id}/dependencies`, { body: { depends_on: [] } })).status).toBe(
      422,
    );

    // Nothing may wait for a task that ended without completing: it would wait forever.
    const gone = (await call("POST", "/api/tasks", { body: task })).body.task;
    await call("POST", `/api/tasks/${gone.id}/cancel`, { body: {} });
    for (const res of [
      await call("POST", "/api/tasks", { body: { ...task, depends_on: [gone.id] } }),
      await call("POST", `/api/tasks/${c.id}/dependencies`, { body: { depends_on: [gone.id] } }),
      await call("POST", "/api/pipelines", { body: { steps: [{ ...task, after: [gone.id] }] } }),
    ]) {
      expect(res.status).toBe(409);
      expect(error(res).details).toEqual({ depends_on: gone.id, status: "cancelled" });
    }
  });

  test("a failed parent cancels its waiting descendants; a handoff passes its dependents on", async ({
    hub,
    call,
    clock,
  }) => {
    const seen = events(hub);
    const p = PipelineResponseSchema.parse(
      (await call("POST", "/api/pipelines", { body: { steps: [task, task, task] } })).body,
    );
    const [first, second, third] = p.tasks.map((t) => t.id);
    await fail(call, hub, first as string, "w1", clock.now, { retryable: false });
    for (const id of [second, third]) {
      const t = (await call("GET", `/api/tasks/${id}`)).body.task;
      expect(t).toMatchObject({ status: "cancelled", error: `dependency ${first} failed` });
    }
    const cancelled = seen.filter((e) => e.type === "task_cancelled").map((e) => e.data);
    expect(cancelled).toEqual([
      { task_id: second, reason: `dependency ${first} failed`, cancelled_by: "system", cause_task_id: first },
      { task_id: third, reason: `dependency ${first} failed`, cancelled_by: "system", cause_task_id: first },
    ]);

    // Cancelling a parent cancels its children too.
    const q = PipelineResponseSchema.parse(
      (await call("POST", "/api/pipelines", { body: { steps: [task, task] } })).body,
    );
    await call("POST", `/api/tasks/${q.tasks[0]?.id}/cancel`, { body: {} });
    expect((await call("GET", `/api/tasks/${q.tasks[1]?.id}`)).body.task.status).toBe("cancelled");

    // A handed-off parent: its child now waits for the continuation, and runs after it.
    const h = PipelineResponseSchema.parse(
      (await call("POST", "/api/pipelines", { body: { steps: [task, task] } })).body,
    );
    const parent = h.tasks[0]?.id as string;
    const attempt = runOn(hub, parent, "w1", clock.now);
    const handoff = await call("POST", `/api/tasks/${parent}/handoff`, {
      body: { partial_output: "half", attempt },
      headers: { "x-m3shd-agent": "w1" },
    });
    const continuation = handoff.body.continuation.id as string;
    expect((await call("GET", `/api/tasks/${h.tasks[1]?.id}`)).body.task.depends_on).toEqual([continuation]);
    await complete(call, hub, continuation, "w2", clock.now);
    expect((await call("GET", `/api/tasks/${h.tasks[1]?.id}`)).body.task.status).toBe("queued");
  });
});

describe("templates", () => {
  test("five are seeded; CRUD; dispatch validates variables, naming missing and extra", async ({ call }) => {
    const list = TemplateListResponseSchema.parse((await call("GET", "/api/templates")).body);
    expect(list.templates.map((t) => [t.name, t.variables])).toEqual([
      ["Code Review", ["target"]],
      ["QA", ["target"]],
      ["Research", ["topic"]],
      ["Summarize", ["target"]],
      ["Write", ["topic"]],
    ]);
    const created = await call("POST", "/api/templates", {
      body: { name: "Compare", prompt_template: "Compare {a} with {b}", capability: "research", priority: 8 },
    });
    expect(created.status).toBe(201);
    const tpl = TemplateSchema.parse(created.body.template);
    expect(tpl.variables).toEqual(["a", "b"]);
    expect(
      (await call("POST", "/api/templates", { body: { ...created.body.template, id: undefined } })).status,
    ).toBe(422);
    const dup = await call("POST", "/api/templates", {
      body: { name: "Compare", prompt_template: "x", capability: "research" },
    });
    expect(dup.status).toBe(409);

    const bad = await call("POST", `/api/templates/${tpl.id}/dispatch`, {
      body: { variables: { a: "1", c: "3" } },
    });
    expect(bad.status).toBe(422);
    expect(error(bad).message).toBe("Template Compare: missing variables: b; unexpected variables: c");
    expect(error(bad).details).toMatchObject({ missing: ["b"], extra: ["c"] });
    const sent = await call("POST", `/api/templates/${tpl.id}/dispatch`, {
      body: { variables: { a: "apples", b: "{a}" } },
    });
    expect(sent.status).toBe(201);
    expect(TaskSchema.parse(sent.body.task)).toMatchObject({
      title: "Compare",
      prompt: "Compare apples with {a}",
      required_capability: "research",
      priority: 8,
      status: "queued",
    });
    const tooBig = await call("POST", `/api/templates/${tpl.id}/dispatch`, {
      body: { variables: { a: "x".repeat(LIMITS.promptBytes), b: "y" } },
    });
    expect(tooBig.status).toBe(422);

    const updated = await call("PUT", `/api/templates/${tpl.id}`, { body: { prompt_template: "Just {a}" } });
    expect(updated.body.template.variables).toEqual(["a"]);
    expect((await call("PUT", `/api/templates/${tpl.id}`, { body: {} })).status).toBe(422);
    expect((await call("DELETE", `/api/templates/${tpl.id}`)).status).toBe(200);
    expect((await call("GET", `/api/templates/${tpl.id}`)).status).toBe(404);
    expect((await call("POST", `/api/templates/${tpl.id}/dispatch`, { body: {} })).status).toBe(404);
  });
});

describe("shared context and messages", () => {
  test("context: any JSON value, set_by recorded, prefix listing, limits", async ({ call, clock }) => {
    const put = await call("PUT", "/api/context/deploy.target", {
      body: { value: { env: "prod", n: [1, 2] } },
    });
    expect(ContextEntrySchema.parse(put.body.entry)).toEqual({
      key: "deploy.target",
      value: { env: "prod", n: [1, 2] },
      set_by: "master",
      updated_at: clock.now,
    });
    await call("PUT", "/api/context/deploy.window", {
      body: { value: null },
      headers: { "x-m3shd-agent": "ops-bot" },
    });
    expect((await call("GET", "/api/context/deploy.window")).body.entry).toMatchObject({
      value: null,
      set_by: "ops-bot",
    });
    await call("PUT", "/api/context/other", { body: { value: "x" } });
    const page = ContextListResponseSchema.parse(
      (await call("GET", "/api/context?prefix=deploy.&limit=1")).body,
    );
    expect(page.entries.map((e) => e.key)).toEqual(["deploy.target"]);
    const next = ContextListResponseSchema.parse(
      (await call("GET", `/api/context?prefix=deploy.&limit=1&cursor=${page.next_cursor}`)).body,
    );
    expect(next.entries.map((e) => e.key)).toEqual(["deploy.window"]);
    expect(next.next_cursor).toBeNull();
    expect((await call("PUT", "/api/context/big", { body: { value: "x".repeat(70_000) } })).status).toBe(422);
    expect((await call("PUT", "/api/context/bad key", { body: { value: 1 } })).status).toBe(422);
    expect((await call("PUT", "/api/context/k", { body: {} })).status).toBe(422);
    expect((await call("DELETE", "/api/context/other")).status).toBe(200);
    expect((await call("DELETE", "/api/context/other")).status).toBe(404);
    expect((await call("GET", "/api/context/other")).status).toBe(404);
  });

  test("messages: ≤ 50 KB, channels, replies, streamed as message_created", async ({ hub, call }) => {
    const seen = events(hub);
    const first = await call("POST", "/api/messages", { body: { content: "deploying now", channel: "ops" } });
    expect(first.status).toBe(201);
    const message = MessageSchema.parse(first.body.message);
    expect(message).toMatchObject({ channel: "ops", from: "master", reply_to: null });
    const reply = await call("POST", "/api/messages", {
      body: { content: "ack", channel: "ops", reply_to: message.id },
      headers: { "x-m3shd-agent": "ops-bot" },
    });
    expect(reply.body.message).toMatchObject({ from: "ops-bot", reply_to: message.id });
    await call("POST", "/api/messages", { body: { content: "elsewhere" } });
    const ops = MessageListResponseSchema.parse((await call("GET", "/api/messages?channel=ops")).body);
    expect(ops.messages.map((m) => m.content)).toEqual(["ack", "deploying now"]);
    expect(seen.filter((e) => e.type === "message_created")).toHaveLength(3);
    expect(
      (await call("POST", "/api/messages", { body: { content: "x".repeat(LIMITS.messageBytes + 1) } }))
        .status,
    ).toBe(422);
    expect(
      (await call("POST", "/api/messages", { body: { content: "x".repeat(LIMITS.messageBytes) } })).status,
    ).toBe(201);
    expect(
      (
        await call("POST", "/api/messages", {
          body: { content: "x", reply_to: "msg_01M89BYA656ZRM64XMTMSYM3QB" },
        })
      ).status,
    ).toBe(404);
    expect((await call("POST", "/api/messages", { body: { content: "x", from: "admin" } })).status).toBe(422);
    expect((await call("GET", "/api/messages", { token: null })).status).toBe(401);
  });
});

describe("approvals and escalations", () => {
  test("an agent asks, an operator decides once; unanswered requests expire", async ({
    hub,
    call,
    clock,
  }) => {
    const seen = events(hub);
    upsertAgent(hub.ctx.database.db, {
      id: "deployer",
      name: "d",
      capabilities: ["echo"],
      maxConcurrent: 1,
      now: clock.now,
    });
    const agent = { "x-m3shd-agent": "deployer" };
    const asked = await call("POST", "/api/approvals", {
      body: { action: "deploy", description: "ship v2", timeout_s: 60 },
      headers: agent,
    });
    expect(asked.status).toBe(201);
    const approval = ApprovalResponseSchema.parse(asked.body).approval;
    expect(approval).toMatchObject({
      status: "pending",
      agent_id: "deployer",
      expires_at: clock.now + 60_000,
    });
    expect((await call("POST", "/api/approvals", { body: { action: "deploy" } })).status).toBe(403); // no agent
    const decided = await call("PUT", `/api/approvals/${approval.id}`, {
      body: { decision: "approved", reason: "go" },
    });
    expect(decided.body.approval).toMatchObject({
      status: "approved",
      decided_by: "master",
      decision_reason: "go",
    });
    expect(
      (await call("PUT", `/api/approvals/${approval.id}`, { body: { decision: "rejected" } })).status,
    ).toBe(409);

    const late = (
      await call("POST", "/api/approvals", { body: { action: "wipe", timeout_s: 5 }, headers: agent })
    ).body.approval;
    clock.now += 5_000;
    const tooLate = await call("PUT", `/api/approvals/${late.id}`, { body: { decision: "approved" } });
    expect(tooLate.status).toBe(409);
    expect(error(tooLate).details).toEqual({ status: "expired" });
    const pending = ApprovalListResponseSchema.parse(
      (await call("GET", "/api/approvals?status=expired")).body,
    );
    expect(pending.approvals.map((a) => a.id)).toEqual([late.id]);
    expect(seen.map((e) => e.type).filter((t) => t.startsWith("approval_"))).toEqual([
      "approval_requested",
      "approval_decided",
      "approval_requested",
      "approval_expired",
    ]);
    expect((await call("GET", "/api/approvals/apr_01M89BYA656ZRM64XMTMSYM3QB")).status).toBe(404);
  });

  test("three consecutive failures escalate to the agent's target, once while open", async ({
    hub,
    call,
    clock,
  }) => {
    const seen = events(hub);
    upsertAgent(hub.ctx.database.db, {
      id: "flaky",
      name: "f",
      capabilities: ["echo"],
      maxConcurrent: 1,
      now: clock.now,
    });
    const settings = await call("PUT", "/api/agents/flaky/settings", {
      body: { escalation_target: "supervisor" },
    });
    expect(AgentSettingsSchema.parse(settings.body.settings).escalation_target).toBe("supervisor");
    for (let i = 0; i < 4; i++) {
      const t = (await call("POST", "/api/tasks", { body: { ...task, max_attempts: 1 } })).body.task;
      await fail(call, hub, t.id, "flaky", clock.now);
    }
    const list = EscalationListResponseSchema.parse((await call("GET", "/api/escalations?status=open")).body);
    expect(list.escalations).toHaveLength(1);
    const escalation = list.escalations[0];
    expect(escalation).toMatchObject({
      agent_id: "flaky",
      target: "supervisor",
      failures: 3,
      status: "open",
    });
    expect(seen.filter((e) => e.type === "escalation_created")).toHaveLength(1);
    const resolved = await call("PUT", `/api/escalations/${escalation?.id}`, {
      body: { resolution: "restarted" },
    });
    expect(resolved.body.escalation).toMatchObject({ status: "resolved", resolved_by: "master" });
    expect((await call("PUT", `/api/escalations/${escalation?.id}`, { body: {} })).status).toBe(409);
    expect(seen.filter((e) => e.type === "escalation_resolved")).toHaveLength(1);
    // Still failing after the operator resolved it: the next failure opens a new one.
    const t = (await call("POST", "/api/tasks", { body: { ...task, max_attempts: 1 } })).body.task;
    await fail(call, hub, t.id, "flaky", clock.now);
    expect((await call("GET", "/api/escalations?status=open")).body.escalations[0].failures).toBe(5);
  });
});

describe("costs, budgets and analytics", () => {
  test("usage is logged per completion; settings show today's spend against the cap", async ({
    hub,
    call,
    clock,
  }) => {
    upsertAgent(hub.ctx.database.db, {
      id: "spender",
      name: "s",
      capabilities: ["echo"],
      maxConcurrent: 9,
      now: clock.now,
    });
    await call("PUT", "/api/agents/spender/settings", { body: { daily_token_cap: 1000 } });
    const a = (await call("POST", "/api/tasks", { body: task })).body.task;
    await complete(call, hub, a.id, "spender", clock.now, {
      usage: { input_tokens: 600, output_tokens: 500 },
      cost_usd: 0.25,
      model: "m-1",
    });
    const s = AgentSettingsSchema.parse((await call("GET", "/api/agents/spender/settings")).body.settings);
    expect(s).toEqual({
      agent_id: "spender",
      escalation_target: null,
      daily_token_cap: 1000,
      effective_daily_token_cap: 1000,
      tokens_today: 1100,
      cost_today_usd: 0.25,
      over_cap: true,
    });
    const alerts = await hub.ctx.queue.driver.pendingCount("alerts.send");
    expect(alerts).toBeGreaterThanOrEqual(0); // consumed in the background; delivery is tested against a fake ntfy
    expect(
      (await call("PUT", "/api/agents/spender/settings", { body: { daily_token_cap: -1 } })).status,
    ).toBe(422);
    expect((await call("PUT", "/api/agents/ghost/settings", { body: { daily_token_cap: 1 } })).status).toBe(
      404,
    );
  });

  test("analytics match a hand-computed fixture", async ({ hub, call, clock }) => {
    const D0 = Date.UTC(2026, 10, 25); // 2026-11-25, the last day of the window
    const db = hub.ctx.database.db;
    for (const id of ["ana", "bob"]) {
      upsertAgent(db, { id, name: id, capabilities: ["echo"], maxConcurrent: 9, now: D0 - 10 * DAY });
    }
    const at = async (ms: number, body: object) => {
      clock.now = ms;
      return (await call("POST", "/api/tasks", { body: { ...task, ...body } })).body.task.id as string;
    };
    // Outside the window (2026-11-20): never counted.
    const old = await at(D0 - 5 * DAY, { required_capability: "code" });
    await complete(call, hub, old, "ana", clock.now, {
      usage: { input_tokens: 1000, output_tokens: 1000 },
      cost_usd: 5,
    });
    // 2026-11-23
    const t1 = await at(D0 - 2 * DAY + 10 * HOUR, { required_capability: "research" });
    clock.now += HOUR / 2;
    await complete(call, hub, t1, "ana", clock.now, {
      usage: { input_tokens: 100, output_tokens: 50 },
      cost_usd: 0.1,
    });
    const t2 = await at(D0 - 2 * DAY + 11 * HOUR, { required_capability: "research", max_attempts: 1 });
    clock.now += HOUR / 2;
    await fail(call, hub, t2, "bob", clock.now, { usage: { input_tokens: 10, output_tokens: 0 } });
    // 2026-11-24
    const t3 = await at(D0 - DAY + 9 * HOUR, { required_capability: "code" });
    clock.now += HOUR / 2;
    await complete(call, hub, t3, "ana", clock.now, {
      usage: { input_tokens: 200, output_tokens: 100 },
      cost_usd: 0.3,
    });
    // 2026-11-25: created, never assigned.
    await at(D0 + 8 * HOUR, { required_capability: "code" });
    // bob was down from midnight to 06:00 on 2026-11-24.
    openOutage(db, { id: "out_1", agentId: "bob", startedAt: D0 - DAY, now: D0 - DAY });
    closeOutage(db, { agentId: "bob", now: D0 - DAY + 6 * HOUR });
    clock.now = D0 + 12 * HOUR;
    const from = D0 - 2 * DAY;
    const to = clock.now;

    const tasks = TaskAnalyticsSchema.parse((await call("GET", "/api/admin/analytics/tasks?days=3")).body);
    expect(tasks).toEqual({
      days: 3,
      from,
      to,
      total: 4,
      by_status: {
        waiting: 0,
        queued: 1,
        assigned: 0,
        running: 0,
        done: 2,
        failed: 1,
        suspended: 0,
        cancelled: 0,
        relayed: 0,
      },
      by_agent: [
        { agent_id: "ana", total: 2, done: 2, failed: 0 },
        { agent_id: "bob", total: 1, done: 0, failed: 1 },
      ],
      by_day: [
        { day: "2026-11-23", total: 2, done: 1, failed: 1 },
        { day: "2026-11-24", total: 1, done: 1, failed: 0 },
        { day: "2026-11-25", total: 1, done: 0, failed: 0 },
      ],
      by_capability: [
        { capability: "code", total: 2, done: 1, failed: 0 },
        { capability: "research", total: 2, done: 1, failed: 1 },
      ],
    });

    const costs = CostAnalyticsSchema.parse((await call("GET", "/api/admin/analytics/costs?days=3")).body);
    expect(costs).toEqual({
      days: 3,
      from,
      to,
      total: { calls: 3, input_tokens: 310, output_tokens: 150, cost_usd: 0.4 },
      avg_cost_per_task_usd: 0.133333,
      by_agent: [
        {
          agent_id: "ana",
          calls: 2,
          input_tokens: 300,
          output_tokens: 150,
          cost_usd: 0.4,
          avg_cost_per_task_usd: 0.2,
        },
        {
          agent_id: "bob",
          calls: 1,
          input_tokens: 10,
          output_tokens: 0,
          cost_usd: 0,
          avg_cost_per_task_usd: 0,
        },
      ],
      by_day: [
        { day: "2026-11-23", calls: 2, input_tokens: 110, output_tokens: 50, cost_usd: 0.1 },
        { day: "2026-11-24", calls: 1, input_tokens: 200, output_tokens: 100, cost_usd: 0.3 },
        { day: "2026-11-25", calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0 },
      ],
    });

    const agents = AgentAnalyticsSchema.parse((await call("GET", "/api/admin/analytics/agents?days=3")).body);
    // Window: 60 hours; bob was down 6 of them.
    expect(agents.agents).toEqual([
      {
        agent_id: "ana",
        status: "online",
        uptime_pct: 100,
        outages: 0,
        tasks: { total: 2, done: 2, failed: 0 },
        memories: null,
      },
      {
        agent_id: "bob",
        status: "online",
        uptime_pct: 90,
        outages: 1,
        tasks: { total: 1, done: 0, failed: 1 },
        memories: null,
      },
    ]);

    const summary = SummaryAnalyticsSchema.parse(
      (await call("GET", "/api/admin/analytics/summary?days=3")).body,
    );
    expect(summary).toMatchObject({
      tasks: { total: 4, done: 2, failed: 1, success_rate: 0.6667 },
      costs: { calls: 3, cost_usd: 0.4, avg_cost_per_task_usd: 0.133333 },
      agents: { total: 2, online: 2, busy: 0, offline: 0, avg_uptime_pct: 95 },
      open_escalations: 0,
      pending_approvals: 0,
    });
    // The default window is 7 days; it reaches back to 2026-11-19, so the old task counts there.
    const week = TaskAnalyticsSchema.parse((await call("GET", "/api/admin/analytics/tasks")).body);
    expect([week.days, week.total, week.by_day.length]).toEqual([7, 5, 7]);
    expect((await call("GET", "/api/admin/analytics/tasks?days=0")).status).toBe(422);
    expect((await call("GET", "/api/admin/analytics/tasks?days=400")).status).toBe(422);
  });
});
