import { insertEscalation, upsertAgent } from "@m3shd/db";
import { newId } from "@m3shd/protocol";
import { MASTER, type TestHub, type TestPrincipal } from "./security-fixture";

/**
 * Matrix specs for the workflows routes (pipelines, templates, context, messages, approvals,
 * escalations, agent settings, analytics), spread into `SPECS` in matrix.test.ts. Each builds a
 * request that is valid in every respect but who asks.
 */

interface Cell {
  t: TestHub;
  p: TestPrincipal;
  agent: string;
  agentHeader: Record<string, string>;
}

interface Spec {
  ok: number;
  actsAsAgent?: boolean;
  build(cell: Cell): Promise<{ path: string; body?: unknown; headers?: Record<string, string> }>;
}

const OPS_AGENT = "agent-ops";
let counter = 0;
const unique = (prefix: string) => `${prefix}-wf-${++counter}`;

async function asMaster(t: TestHub, method: string, path: string, body?: unknown, headers = {}) {
  const res = await t.call(method, path, { token: MASTER, headers, ...(body !== undefined ? { body } : {}) });
  if (res.status >= 300) throw new Error(`setup ${method} ${path}: ${res.status} ${res.text}`);
  return res.body;
}

const task = { title: "m", prompt: "p", required_capability: "echo" };
const freshTemplate = async (t: TestHub): Promise<string> =>
  (
    await asMaster(t, "POST", "/api/templates", {
      name: unique("tpl"),
      prompt_template: "Do {x}",
      capability: "echo",
    })
  ).template.id;
const freshApproval = async (t: TestHub): Promise<string> =>
  (await asMaster(t, "POST", "/api/approvals", { action: "deploy" }, { "x-m3shd-agent": OPS_AGENT })).approval
    .id;
const freshEscalation = (t: TestHub): string =>
  insertEscalation(t.database.db, {
    id: newId("esc"),
    agentId: OPS_AGENT,
    taskId: null,
    target: "operator",
    reason: "matrix",
    failures: 3,
    now: t.clock.now,
  }).id;
const freshKey = async (t: TestHub): Promise<string> => {
  const key = unique("key");
  await asMaster(t, "PUT", `/api/context/${key}`, { value: { n: 1 } });
  return key;
};

export const WORKFLOW_SPECS: Record<string, Spec> = {
  "POST /api/pipelines": {
    ok: 201,
    build: async () => ({ path: "/api/pipelines", body: { steps: [task, task] } }),
  },
  "GET /api/pipelines/:id": {
    ok: 200,
    build: async ({ t }) => ({
      path: `/api/pipelines/${(await asMaster(t, "POST", "/api/pipelines", { steps: [task] })).pipeline_id}`,
    }),
  },
  "POST /api/tasks/:id/dependencies": {
    ok: 200,
    build: async ({ t }) => {
      const parent = (await asMaster(t, "POST", "/api/tasks", task)).task.id;
      const child = (await asMaster(t, "POST", "/api/tasks", { ...task, depends_on: [parent] })).task.id;
      const other = (await asMaster(t, "POST", "/api/tasks", task)).task.id;
      return { path: `/api/tasks/${child}/dependencies`, body: { depends_on: [other] } };
    },
  },
  "GET /api/templates": { ok: 200, build: async () => ({ path: "/api/templates" }) },
  "GET /api/templates/:id": {
    ok: 200,
    build: async ({ t }) => ({ path: `/api/templates/${await freshTemplate(t)}` }),
  },
  "POST /api/templates": {
    ok: 201,
    build: async () => ({
      path: "/api/templates",
      body: { name: unique("new-tpl"), prompt_template: "Do {x}", capability: "echo" },
    }),
  },
  "PUT /api/templates/:id": {
    ok: 200,
    build: async ({ t }) => ({ path: `/api/templates/${await freshTemplate(t)}`, body: { priority: 7 } }),
  },
  "DELETE /api/templates/:id": {
    ok: 200,
    build: async ({ t }) => ({ path: `/api/templates/${await freshTemplate(t)}` }),
  },
  "POST /api/templates/:id/dispatch": {
    ok: 201,
    build: async ({ t }) => ({
      path: `/api/templates/${await freshTemplate(t)}/dispatch`,
      body: { variables: { x: "it" } },
    }),
  },
  "GET /api/context": { ok: 200, build: async () => ({ path: "/api/context" }) },
  "GET /api/context/:key": {
    ok: 200,
    build: async ({ t }) => ({ path: `/api/context/${await freshKey(t)}` }),
  },
  "PUT /api/context/:key": {
    ok: 200,
    build: async () => ({ path: `/api/context/${unique("k")}`, body: { value: [1, "two"] } }),
  },
  "DELETE /api/context/:key": {
    ok: 200,
    build: async ({ t }) => ({ path: `/api/context/${await freshKey(t)}` }),
  },
  "POST /api/messages": { ok: 201, build: async () => ({ path: "/api/messages", body: { content: "hi" } }) },
  "GET /api/messages": { ok: 200, build: async () => ({ path: "/api/messages?limit=5" }) },
  "POST /api/approvals": {
    ok: 201,
    actsAsAgent: true,
    build: async ({ t, agent, agentHeader }) => {
      upsertAgent(t.database.db, {
        id: agent,
        name: agent,
        capabilities: ["echo"],
        maxConcurrent: 64,
        now: t.clock.now,
      });
      return { path: "/api/approvals", body: { action: "deploy", timeout_s: 60 }, headers: agentHeader };
    },
  },
  "GET /api/approvals": { ok: 200, build: async () => ({ path: "/api/approvals?status=pending" }) },
  "GET /api/approvals/:id": {
    ok: 200,
    build: async ({ t }) => ({ path: `/api/approvals/${await freshApproval(t)}` }),
  },
  "PUT /api/approvals/:id": {
    ok: 200,
    build: async ({ t }) => ({
      path: `/api/approvals/${await freshApproval(t)}`,
      body: { decision: "rejected" },
    }),
  },
  "GET /api/escalations": { ok: 200, build: async () => ({ path: "/api/escalations" }) },
  "GET /api/escalations/:id": {
    ok: 200,
    build: async ({ t }) => ({ path: `/api/escalations/${freshEscalation(t)}` }),
  },
  "PUT /api/escalations/:id": {
    ok: 200,
    build: async ({ t }) => ({ path: `/api/escalations/${freshEscalation(t)}`, body: { resolution: "ok" } }),
  },
  "GET /api/agents/:id/settings": {
    ok: 200,
    build: async () => ({ path: `/api/agents/${OPS_AGENT}/settings` }),
  },
  "PUT /api/agents/:id/settings": {
    ok: 200,
    build: async () => ({ path: `/api/agents/${OPS_AGENT}/settings`, body: { daily_token_cap: 1_000_000 } }),
  },
  "GET /api/admin/analytics/tasks": { ok: 200, build: async () => ({ path: "/api/admin/analytics/tasks" }) },
  "GET /api/admin/analytics/costs": {
    ok: 200,
    build: async () => ({ path: "/api/admin/analytics/costs?days=30" }),
  },
  "GET /api/admin/analytics/agents": {
    ok: 200,
    build: async () => ({ path: "/api/admin/analytics/agents" }),
  },
  "GET /api/admin/analytics/summary": {
    ok: 200,
    build: async () => ({ path: "/api/admin/analytics/summary?days=1" }),
  },
};
