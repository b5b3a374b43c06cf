import { getAgent, transitionTask, upsertAgent } from "@m3shd/db";
import {
  CONTINUATION_PROMPT_PREFIX,
  ErrorBodySchema,
  HealthResponseSchema,
  HeartbeatResponseSchema,
  LIMITS,
  NextTaskResponseSchema,
  PERMISSIONS,
  TaskListResponseSchema,
  TaskSchema,
} from "@m3shd/protocol";
import { describe, expect } from "vitest";
import { ROUTE_PERMISSION } from "../src/middleware/auth";
import { DEFAULT_CANCEL_NOTICE_TTL_MS } from "../src/services/agents";
import { hubTest as test } from "./fixture";

const task = { title: "t", prompt: "p", required_capability: "echo" };

/** Moves a task to running on `agent` directly in the database (the dispatcher's job in real life). */
function runOn(
  hub: { ctx: { database: { db: Parameters<typeof transitionTask>[0] } } },
  id: string,
  agent: string,
) {
  const db = hub.ctx.database.db;
  if (!getAgent(db, agent))
    upsertAgent(db, { id: agent, name: agent, capabilities: ["echo"], maxConcurrent: 4, now: Date.now() });
  transitionTask(db, { id, from: "queued", to: "assigned", set: { assignedTo: agent }, now: Date.now() });
  transitionTask(db, {
    id,
    from: "assigned",
    to: "running",
    set: { attempts: 1, attempt: 1 },
    now: Date.now(),
  });
}

describe("route table", () => {
  test("every route declares exactly one permission", ({ hub }) => {
    const byRoute = new Map<string, unknown[]>();
    for (const r of hub.app.routes) {
      if (r.path === "/*" || r.method === "ALL") continue;
      const key = `${r.method} ${r.path}`;
      const perm = (r.handler as unknown as Record<symbol, unknown>)[ROUTE_PERMISSION];
      const list = byRoute.get(key) ?? [];
      if (perm !== undefined) list.push(perm);
      byRoute.set(key, list);
    }
    expect(byRoute.size).toBeGreaterThanOrEqual(17);
    for (const [route, perms] of byRoute) {
      expect(perms, route).toHaveLength(1);
      expect([...PERMISSIONS, "public"], route).toContain(perms[0]);
    }
    expect(byRoute.get("GET /api/health")).toEqual(["public"]);
    expect(byRoute.get("POST /api/tasks")).toEqual(["tasks:write"]);
  });
});

describe("auth and errors", () => {
  test("rejects missing and wrong tokens with 401 and the error envelope", async ({ call }) => {
    for (const token of [null, "wrong-token"]) {
      const res = await call("GET", "/api/tasks", { token });
      expect(res.status).toBe(401);
      expect(ErrorBodySchema.parse(res.body).error.code).toBe("unauthorized");
      expect(res.body.error.request_id).toBeTruthy();
    }
  });

  test("health is public and reports the queue driver", async ({ call }) => {
    const res = await call("GET", "/api/health", { token: null });
    expect(res.status).toBe(200);
    expect(HealthResponseSchema.parse(res.body)).toMatchObject({
      status: "ok",
      db: "ok",
      queue: { driver: "memory", redis: "n/a" },
    });
  });

  test("sets the security headers on every response", async ({ call }) => {
    for (const res of [await call("GET", "/api/health"), await call("GET", "/api/nope")]) {
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("strict-transport-security")).toBe("max-age=31536000; includeSubDomains");
      expect(res.headers.get("referrer-policy")).toBe("strict-origin-when-cross-origin");
      expect(res.headers.get("permissions-policy")).toBe("camera=(), microphone=(), geolocation=()");
      expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    }
  });

  test("maps bad input to 400/413/415/422, never 500", async ({ call }) => {
    expect(
      (
        await call("POST", "/api/tasks", {
          raw: "{not json",
          headers: { "content-type": "application/json" },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await call("POST", "/api/tasks", {
          raw: JSON.stringify(task),
          headers: { "content-type": "text/plain" },
        })
      ).status,
    ).toBe(415);
    const unknown = await call("POST", "/api/tasks", { body: { ...task, surprise: 1 } });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error.details.issues[0].code).toBe("unrecognized_keys");
    const huge = await call("POST", "/api/tasks", {
      raw: "x".repeat(200_000),
      headers: { "content-type": "application/json" },
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe("payload_too_large");
    expect((await call("GET", "/api/tasks?limit=501")).status).toBe(422);
    expect((await call("GET", "/api/tasks?limit=0")).status).toBe(422);
    expect((await call("GET", "/api/tasks?cursor=garbage")).status).toBe(422);
    expect((await call("GET", "/api/tasks/not-a-task-id")).status).toBe(422);
    expect(
      (
        await call("POST", "/api/agents/Bad_ID/register", {
          body: { capabilities: ["x"], max_concurrent: 1 },
        })
      ).status,
    ).toBe(422);
    expect(
      (
        await call("POST", `/api/agents/${"a".repeat(65)}/register`, {
          body: { capabilities: ["x"], max_concurrent: 1 },
        })
      ).status,
    ).toBe(422);
    expect((await call("GET", "/api/agents/w/tasks/next?wait=31")).status).toBe(422);
    expect((await call("GET", "/api/stream?types=nope")).status).toBe(422);
    expect((await call("GET", "/api/provenance/consistency?from=2&to=1")).status).toBe(422);
  });

  test("enforces the prompt limit in UTF-8 bytes", async ({ call }) => {
    const exactly = "é".repeat(LIMITS.promptBytes / 2); // 2 bytes each
    expect((await call("POST", "/api/tasks", { body: { ...task, prompt: exactly } })).status).toBe(201);
    const over = await call("POST", "/api/tasks", { body: { ...task, prompt: `${exactly}a` } });
    expect(over.status).toBe(422);
    expect(over.body.error.details.issues[0].path).toEqual(["prompt"]);
  });

  test("refuses a deadline in the past", async ({ call, clock }) => {
    const res = await call("POST", "/api/tasks", { body: { ...task, deadline: clock.now - 1 } });
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues[0].path).toEqual(["deadline"]);
    expect(
      (
        await call("POST", "/api/tasks", {
          body: { ...task, deadline: new Date(clock.now + 60_000).toISOString() },
        })
      ).status,
    ).toBe(201);
  });

  test("answers 404 for unknown tasks, agents, routes and parents", async ({ call }) => {
    const missing = "task_01M89BYA656ZRM64XMTMSYM3QB";
    expect((await call("GET", `/api/tasks/${missing}`)).status).toBe(404);
    expect((await call("GET", "/api/agents/ghost")).status).toBe(404);
    expect((await call("POST", "/api/agents/ghost/heartbeat", { body: { active_tasks: 0 } })).status).toBe(
      404,
    );
    expect((await call("GET", "/api/agents/ghost/tasks/next")).status).toBe(404);
    expect((await call("GET", "/api/no/such/route")).status).toBe(404);
    const orphan = await call("POST", "/api/tasks", { body: { ...task, depends_on: [missing] } });
    expect(orphan.status).toBe(404);
    expect(orphan.body.error.details).toEqual({ resource: "task", id: missing });
  });
});

describe("tasks", () => {
  test("creates, gets and lists tasks with filters and cursor pagination", async ({ call, clock }) => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      clock.now += 1;
      const res = await call("POST", "/api/tasks", {
        body: { ...task, required_capability: i % 2 ? "odd" : "even", priority: 1 + i },
      });
      expect(res.status).toBe(201);
      const parsed = TaskSchema.parse(res.body.task);
      expect(parsed).toMatchObject({ status: "queued", priority: 1 + i, attempts: 0, urgency: "low" });
      ids.push(parsed.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await call("GET", `/api/tasks?limit=3${cursor ? `&cursor=${cursor}` : ""}`);
      const page = TaskListResponseSchema.parse(res.body);
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const odd = TaskListResponseSchema.parse((await call("GET", "/api/tasks?capability=odd")).body);
    expect(odd.tasks.map((t) => t.id)).toEqual([ids[5], ids[3], ids[1]]);
    const got = await call("GET", `/api/tasks/${ids[0]}`);
    expect(TaskSchema.parse(got.body.task).id).toBe(ids[0]);
  });

  test("lists a task's direct dependents with ?depends_on= (the DAG downstream of it)", async ({
    call,
    clock,
  }) => {
    const created = async (body: Record<string, unknown>) => {
      clock.now += 1;
      const res = await call("POST", "/api/tasks", { body: { ...task, ...body } });
      expect(res.status).toBe(201);
      return TaskSchema.parse(res.body.task).id;
    };
    const root = await created({});
    const other = await created({});
    const child = await created({ depends_on: [root] });
    const both = await created({ depends_on: [root, other] });
    const grandchild = await created({ depends_on: [child] });
    const list = async (q: string) =>
      TaskListResponseSchema.parse((await call("GET", `/api/tasks?${q}`)).body).tasks.map((t) => t.id);
    // Direct children only, newest first; a grandchild is the child's dependent, not the root's.
    expect(await list(`depends_on=${root}`)).toEqual([both, child]);
    expect(await list(`depends_on=${other}`)).toEqual([both]);
    expect(await list(`depends_on=${child}`)).toEqual([grandchild]);
    expect(await list(`depends_on=${grandchild}`)).toEqual([]);
    // Combines with the other filters and with pagination.
    expect(await list(`depends_on=${root}&status=queued`)).toEqual([]);
    expect(await list(`depends_on=${root}&status=waiting&limit=1`)).toEqual([both]);
    // A task id that names nothing lists nothing; a malformed one is refused.
    expect(await list("depends_on=task_01M89BYA656ZRM64XMTMSYM3QB")).toEqual([]);
    expect((await call("GET", "/api/tasks?depends_on=nope")).status).toBe(422);
  });

  test("guards per-task worker routes: 403 for another agent, 409 for illegal transitions", async ({
    hub,
    call,
  }) => {
    const created = (await call("POST", "/api/tasks", { body: task })).body.task;
    const done = { status: "done", output: "x", attempt: 1 };
    // Not running yet: the assignee check comes first (no agent holds it) → 403.
    expect(
      (await call("PUT", `/api/tasks/${created.id}`, { body: done, headers: { "x-m3shd-agent": "w1" } }))
        .status,
    ).toBe(403);
    runOn(hub, created.id, "w1");
    expect(
      (await call("PUT", `/api/tasks/${created.id}`, { body: done, headers: { "x-m3shd-agent": "w2" } }))
        .status,
    ).toBe(403);
    expect(
      (
        await call("POST", `/api/tasks/${created.id}/stream`, {
          body: { content: "x", attempt: 1 },
          headers: { "x-m3shd-agent": "w2" },
        })
      ).status,
    ).toBe(403);
    expect(
      (
        await call("POST", `/api/tasks/${created.id}/handoff`, {
          body: { partial_output: "x", attempt: 1 },
          headers: { "x-m3shd-agent": "w2" },
        })
      ).status,
    ).toBe(403);
    expect((await call("PUT", `/api/tasks/${created.id}`, { body: done })).status).toBe(403); // no acting agent
    const ok = await call("PUT", `/api/tasks/${created.id}`, {
      body: done,
      headers: { "x-m3shd-agent": "w1" },
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ replayed: false, task: { status: "done", output: "x" } });
    // The same completion again is an idempotent replay (a worker's spool), a different one a 409.
    const again = await call("PUT", `/api/tasks/${created.id}`, {
      body: done,
      headers: { "x-m3shd-agent": "w1" },
    });
    expect(again.body.replayed).toBe(true);
    const different = await call("PUT", `/api/tasks/${created.id}`, {
      body: { status: "done", output: "y", attempt: 1 },
      headers: { "x-m3shd-agent": "w1" },
    });
    expect(different.status).toBe(409);
    expect(different.body.error.code).toBe("illegal_transition");
    const cancel = await call("POST", `/api/tasks/${created.id}/cancel`, { body: {} });
    expect(cancel.status).toBe(409);
    expect(cancel.body.error.details).toMatchObject({ from: "done", to: "cancelled" });
  });

  test("stores streamed chunks once per worker seq", async ({ hub, call }) => {
    const created = (await call("POST", "/api/tasks", { body: task })).body.task;
    runOn(hub, created.id, "w1");
    const h = { "x-m3shd-agent": "w1" };
    expect(
      (
        await call("POST", `/api/tasks/${created.id}/stream`, {
          body: { content: "a", seq: 0, attempt: 1 },
          headers: h,
        })
      ).body,
    ).toEqual({ attempt: 1, seq: 0, duplicate: false });
    expect(
      (
        await call("POST", `/api/tasks/${created.id}/stream`, {
          body: { content: "a", seq: 0, attempt: 1 },
          headers: h,
        })
      ).body,
    ).toEqual({ attempt: 1, seq: 0, duplicate: true });
    expect(
      (
        await call("POST", `/api/tasks/${created.id}/stream`, {
          body: { content: "b", seq: 1, attempt: 1 },
          headers: h,
        })
      ).body,
    ).toEqual({ attempt: 1, seq: 1, duplicate: false });
    expect(
      (
        await call("POST", `/api/tasks/${created.id}/stream`, {
          body: { content: "c", attempt: 1 },
          headers: h,
        })
      ).body,
    ).toEqual({ attempt: 1, seq: 2, duplicate: false });
    const chunks = await call("GET", `/api/tasks/${created.id}/chunks`);
    expect(chunks.body.chunks.map((c: { content: string }) => c.content).join("")).toBe("abc");
    expect((await call("GET", `/api/tasks/${created.id}/chunks?after=1`)).body.chunks).toEqual([
      { attempt: 1, seq: 2, content: "c" },
    ]);
    const tooBig = "y".repeat(LIMITS.streamChunkBytes + 1);
    expect(
      (
        await call("POST", `/api/tasks/${created.id}/stream`, {
          body: { content: tooBig, attempt: 1 },
          headers: h,
        })
      ).status,
    ).toBe(422);
  });

  test("hands off with partial output to a continuation at bumped priority", async ({ hub, call }) => {
    const created = (await call("POST", "/api/tasks", { body: { ...task, priority: 7 } })).body.task;
    runOn(hub, created.id, "w1");
    const res = await call("POST", `/api/tasks/${created.id}/handoff`, {
      body: { partial_output: "half done", reason: "shutting down", attempt: 1 },
      headers: { "x-m3shd-agent": "w1" },
    });
    expect(res.status).toBe(201);
    expect(res.body.suspended).toMatchObject({ status: "suspended", partial_output: "half done" });
    const cont = TaskSchema.parse(res.body.continuation);
    expect(cont).toMatchObject({
      status: "queued",
      priority: 8,
      required_capability: "echo",
      continuation_of: created.id,
    });
    // The submitted prompt is carried over unchanged; the partial work is a part beside it.
    expect(cont.prompt).toBe("p");
    expect(cont.prompt_parts.handoffs).toEqual([{ task_id: created.id, partial_output: "half done" }]);
    expect(cont.composed_prompt).toBe(`${CONTINUATION_PROMPT_PREFIX}\nhalf done\n\n---\nORIGINAL TASK:\np`);
    expect((await call("GET", `/api/tasks/${created.id}`)).body.task.continued_by).toBe(cont.id);
    const tooBig = "z".repeat(LIMITS.handoffPartialBytes + 1);
    const other = (await call("POST", "/api/tasks", { body: task })).body.task;
    runOn(hub, other.id, "w1");
    expect(
      (
        await call("POST", `/api/tasks/${other.id}/handoff`, {
          body: { partial_output: tooBig, attempt: 1 },
          headers: { "x-m3shd-agent": "w1" },
        })
      ).status,
    ).toBe(422);
  });

  test("retries a failed attempt until max_attempts, then fails it", async ({ hub, call }) => {
    const created = (await call("POST", "/api/tasks", { body: { ...task, max_attempts: 2 } })).body.task;
    runOn(hub, created.id, "w1");
    const first = await call("PUT", `/api/tasks/${created.id}`, {
      body: { status: "failed", error: "e1", attempt: 1 },
      headers: { "x-m3shd-agent": "w1" },
    });
    expect(first.body.task).toMatchObject({ status: "queued", error: "e1", attempts: 1 });
    const db = hub.ctx.database.db;
    transitionTask(db, {
      id: created.id,
      from: "queued",
      to: "assigned",
      set: { assignedTo: "w1" },
      now: Date.now(),
    });
    transitionTask(db, {
      id: created.id,
      from: "assigned",
      to: "running",
      set: { attempts: 2, attempt: 2 },
      now: Date.now(),
    });
    const second = await call("PUT", `/api/tasks/${created.id}`, {
      body: { status: "failed", error: "e2", attempt: 2 },
      headers: { "x-m3shd-agent": "w1" },
    });
    expect(second.body.task).toMatchObject({ status: "failed", error: "e2", attempts: 2 });
  });

  test("cancels queued work with a reason", async ({ call }) => {
    const created = (await call("POST", "/api/tasks", { body: task })).body.task;
    const res = await call("POST", `/api/tasks/${created.id}/cancel`, { body: { reason: "not needed" } });
    expect(res.status).toBe(200);
    expect(res.body.task).toMatchObject({ status: "cancelled", error: "not needed" });
    const empty = (await call("POST", "/api/tasks", { body: task })).body.task;
    expect((await call("POST", `/api/tasks/${empty.id}/cancel`)).body.task.status).toBe("cancelled");
  });
});

describe("agents", () => {
  test("registers idempotently and lists agents with live slot usage", async ({ call }) => {
    const body = { capabilities: ["echo", "code"], max_concurrent: 2, machine: "pi-4", provider: "jobs" };
    const first = await call("POST", "/api/agents/pi-worker/register", { body });
    expect(first.status).toBe(200);
    expect(first.body.agent).toMatchObject({
      id: "pi-worker",
      status: "online",
      max_concurrent: 2,
      machine: "pi-4",
    });
    const again = await call("POST", "/api/agents/pi-worker/register", {
      body: { ...body, max_concurrent: 3 },
    });
    expect(again.body.agent.max_concurrent).toBe(3);
    expect(again.body.agent.registered_at).toBe(first.body.agent.registered_at);
    const hb = await call("POST", "/api/agents/pi-worker/heartbeat", {
      body: { active_tasks: 0, load_avg: 0.4 },
    });
    expect(hb.body).toMatchObject({ ok: true, status: "online" });
    const list = await call("GET", "/api/agents");
    expect(list.body.agents).toHaveLength(1);
    expect(list.body.agents[0]).toMatchObject({ id: "pi-worker", load_avg: 0.4, active_tasks: 0 });
    expect(
      (
        await call("POST", "/api/agents/pi-worker/register", {
          body: { capabilities: [], max_concurrent: 1 },
        })
      ).status,
    ).toBe(422);
  });

  test("a claim opens the next attempt; cancel notices expire after the TTL", async ({
    hub,
    call,
    clock,
  }) => {
    await call("POST", "/api/agents/w1/register", { body: { capabilities: ["echo"], max_concurrent: 2 } });
    const created = (await call("POST", "/api/tasks", { body: task })).body.task;
    const db = hub.ctx.database.db;
    transitionTask(db, {
      id: created.id,
      from: "queued",
      to: "assigned",
      set: { assignedTo: "w1" },
      now: clock.now,
    });
    const claim = await call("GET", "/api/agents/w1/tasks/next?wait=0");
    expect(NextTaskResponseSchema.parse(claim.body)).toMatchObject({
      attempt: 1,
      task: { attempt: 1, attempts: 1 },
    });
    // Requeued and claimed again: a new lease, and the old one is refused.
    transitionTask(db, { id: created.id, from: "running", to: "queued", now: clock.now });
    transitionTask(db, {
      id: created.id,
      from: "queued",
      to: "assigned",
      set: { assignedTo: "w1" },
      now: clock.now,
    });
    expect((await call("GET", "/api/agents/w1/tasks/next?wait=0")).body.attempt).toBe(2);
    const h = { "x-m3shd-agent": "w1" };
    const stale = await call("POST", `/api/tasks/${created.id}/stream`, {
      body: { content: "x", attempt: 1 },
      headers: h,
    });
    expect(stale.status).toBe(409);
    expect(ErrorBodySchema.parse(stale.body).error.code).toBe("stale_attempt");

    await call("POST", `/api/tasks/${created.id}/cancel`, { body: {} });
    const beat = async () =>
      HeartbeatResponseSchema.parse(
        (await call("POST", "/api/agents/w1/heartbeat", { body: { active_tasks: 0 } })).body,
      ).cancelled;
    expect(await beat()).toEqual([created.id]);
    clock.now += DEFAULT_CANCEL_NOTICE_TTL_MS - 1;
    expect(await beat()).toEqual([created.id]);
    clock.now += 1;
    expect(await beat()).toEqual([]);
  });

  test("long-poll returns 204 when nothing is assigned", async ({ call }) => {
    await call("POST", "/api/agents/idle/register", { body: { capabilities: ["echo"], max_concurrent: 1 } });
    const started = Date.now();
    const res = await call("GET", "/api/agents/idle/tasks/next?wait=1");
    expect(res.status).toBe(204);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });
});
