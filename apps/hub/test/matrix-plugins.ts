import { transitionTask, upsertAgent } from "@m3shd/db";
import { MASTER, type TestHub, type TestPrincipal } from "./security-fixture";

/**
 * Matrix specs for the plugin routes, spread into `SPECS` in matrix.test.ts. Invoking is a worker
 * route: the request names a task running on the acting agent, so only who asks varies.
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

async function runningTaskOn(t: TestHub, agent: string): Promise<string> {
  const res = await t.call("POST", "/api/tasks", {
    token: MASTER,
    body: { title: "m", prompt: "p", required_capability: "echo" },
  });
  if (res.status !== 201) throw new Error(`task setup failed: ${res.text}`);
  const id = res.body.task.id as string;
  const db = t.database.db;
  upsertAgent(db, { id: agent, name: agent, capabilities: ["echo"], maxConcurrent: 64, now: t.clock.now });
  transitionTask(db, { id, from: "queued", to: "assigned", set: { assignedTo: agent }, now: t.clock.now });
  transitionTask(db, {
    id,
    from: "assigned",
    to: "running",
    set: { attempts: 1, attempt: 1 },
    now: t.clock.now,
  });
  return id;
}

export const PLUGIN_SPECS: Record<string, Spec> = {
  "GET /api/plugins": { ok: 200, build: async () => ({ path: "/api/plugins" }) },
  // Setting the state it already has: allowed principals get 200, and the next cell is unchanged.
  "PUT /api/plugins/:name": {
    ok: 200,
    build: async () => ({ path: "/api/plugins/notify", body: { enabled: true } }),
  },
  // memory_enhance needs no outside service in the matrix hub (its memory service is in-process).
  "POST /api/plugins/:tool/invoke": {
    ok: 200,
    actsAsAgent: true,
    build: async ({ t, agent, agentHeader }) => ({
      path: "/api/plugins/memory_enhance/invoke",
      body: { task_id: await runningTaskOn(t, agent), attempt: 1, args: { query: "deploy" } },
      headers: agentHeader,
    }),
  },
};
