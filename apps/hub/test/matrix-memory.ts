import { MASTER, type TestHub, type TestPrincipal } from "./security-fixture";

/**
 * Matrix specs for the memory routes, spread into `SPECS` in matrix.test.ts. The hub checks the
 * route permission; the memory service then applies its own rules, which `forbidden` encodes: an
 * agent-scoped token reaches only its own agent (the path always names the caller's agent here),
 * and cross-agent search and consolidating another agent need an admin (unscoped + agents:admin).
 */

interface Cell {
  t: TestHub;
  p: TestPrincipal;
  agent: string;
  agentHeader: Record<string, string>;
}

interface Spec {
  ok: number;
  forbidden?: (p: TestPrincipal) => boolean;
  build(cell: Cell): Promise<{ path: string; body?: unknown; headers?: Record<string, string> }>;
}

let counter = 0;
const isAdmin = (p: TestPrincipal) => p.agentId === null && p.permissions.has("agents:admin");

async function storedKey(t: TestHub, agent: string): Promise<string> {
  const key = `matrix-key-${++counter}`;
  const res = await t.call("POST", `/api/agents/${agent}/memory`, {
    token: MASTER,
    body: { key, value: "v" },
  });
  if (res.status !== 201) throw new Error(`memory setup: ${res.status} ${res.text}`);
  return key;
}

export const MEMORY_SPECS: Record<string, Spec> = {
  "POST /api/agents/:id/memory": {
    ok: 201,
    build: async ({ agent }) => ({
      path: `/api/agents/${agent}/memory`,
      body: { key: `k-${++counter}`, value: "the matrix remembers" },
    }),
  },
  "GET /api/agents/:id/memory": {
    ok: 200,
    build: async ({ agent }) => ({ path: `/api/agents/${agent}/memory` }),
  },
  "GET /api/agents/:id/memory/search": {
    ok: 200,
    build: async ({ agent }) => ({ path: `/api/agents/${agent}/memory/search?q=matrix` }),
  },
  "DELETE /api/agents/:id/memory/:key": {
    ok: 200,
    build: async ({ t, agent }) => ({ path: `/api/agents/${agent}/memory/${await storedKey(t, agent)}` }),
  },
  "GET /api/memory/search": {
    ok: 200,
    forbidden: (p) => !isAdmin(p),
    build: async () => ({ path: "/api/memory/search?q=matrix" }),
  },
  "POST /api/memory/consolidate": {
    ok: 200,
    // Consolidating one's own agent is allowed; anyone else's needs an admin.
    forbidden: (p) => p.agentId === null && !isAdmin(p),
    build: async ({ agent }) => ({ path: "/api/memory/consolidate", body: { agent_id: agent } }),
  },
};
