import {
  ConflictError,
  defineRoute,
  ForbiddenError,
  isM3shdError,
  NotFoundError,
  sseResponse,
  type Task,
  UnauthorizedError,
  ValidationError,
} from "@m3shd/protocol";
import { describe, expect, expectTypeOf, it } from "vitest";
import { z } from "zod";
import { BadResponseError, createClient, type HubError, HubUnreachableError, isHubError } from "../src/index";
import { MASTER, scriptedServer, testMesh } from "./helpers";

describe("typed calls against a real hub", () => {
  it("creates, reads and lists tasks through the generated namespace", async () => {
    const mesh = await testMesh();
    const client = createClient({ baseUrl: mesh.url, token: MASTER });
    const created = await client.tasks.create({
      body: { title: "t", prompt: "hello", required_capability: "echo" },
    });
    expect(created.status).toBe(201);
    expectTypeOf(created.body.task).toEqualTypeOf<Task>();
    expect(created.body.task.status).toBe("queued");
    const got = await client.tasks.get({ params: { id: created.body.task.id } });
    expect(got.body.task.id).toBe(created.body.task.id);
    const list = await client.tasks.list({ query: { limit: "10" } });
    expect(list.body.tasks.map((t) => t.id)).toContain(created.body.task.id);
    // No arguments needed where the route requires none.
    const all = await client.tasks.list();
    expect(all.status).toBe(200);
  });

  it("runs the worker contract end to end: register, long-poll, stream, complete, replay", async () => {
    const mesh = await testMesh();
    const operator = createClient({ baseUrl: mesh.url, token: MASTER });
    const worker = createClient({
      baseUrl: mesh.url,
      token: MASTER,
      headers: { "x-m3shd-agent": "w-client" },
    });
    const reg = await worker.worker.register({
      params: { id: "w-client" },
      body: { capabilities: ["echo"], max_concurrent: 1 },
    });
    expect(reg.body.agent.id).toBe("w-client");
    // Nothing assigned: the long-poll answers 204 → null.
    expect(await worker.nextTask("w-client", { waitSeconds: 0 })).toBeNull();
    const beat = await worker.worker.heartbeat({ params: { id: "w-client" }, body: { active_tasks: 0 } });
    expect(beat.body.ok).toBe(true);

    const { body } = await operator.tasks.create({
      body: { title: "t", prompt: "echo me", required_capability: "echo" },
    });
    const claim = await worker.nextTask("w-client", { waitSeconds: 5 });
    expect(claim?.task.id).toBe(body.task.id);
    expect(claim?.task.status).toBe("running");
    const id = body.task.id;
    const chunk = await worker.tasks.stream({ params: { id }, body: { content: "echo", seq: 0 } });
    expect(chunk.body).toEqual({ seq: 0, duplicate: false });
    const again = await worker.tasks.stream({ params: { id }, body: { content: "echo", seq: 0 } });
    expect(again.body.duplicate).toBe(true);
    const done = await worker.tasks.complete({ params: { id }, body: { status: "done", output: "echo me" } });
    expect(done.body).toMatchObject({ replayed: false, task: { status: "done", output: "echo me" } });
    const replay = await worker.tasks.complete({
      params: { id },
      body: { status: "done", output: "echo me" },
    });
    expect(replay.body.replayed).toBe(true);
    const chunks = await operator.tasks.chunks({ params: { id } });
    expect(chunks.body.chunks.map((c) => c.content)).toEqual(["echo"]);
  });

  it("surfaces the protocol's typed errors with status and request id", async () => {
    const mesh = await testMesh();
    const client = createClient({ baseUrl: mesh.url, token: MASTER });
    const missing = await client.tasks
      .get({ params: { id: "task_01JAAAAAAAAAAAAAAAAAAAAAAA" } })
      .catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(isHubError(missing) && isM3shdError(missing)).toBe(true);
    const nf = missing as HubError;
    expect(nf.code).toBe("not_found");
    expect(nf.status).toBe(404);
    expect(nf.requestId).toMatch(/\S/);
    expect(nf.message).toContain("GET /api/tasks/task_01JAAAAAAAAAAAAAAAAAAAAAAA");

    const invalid = await client.tasks
      // @ts-expect-error the body's type refuses a missing prompt; the hub refuses it too
      .create({ body: { title: "t", required_capability: "echo" } })
      .catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect((invalid as HubError).status).toBe(422);
    expect(((invalid as HubError).details as { issues: { path: string[] }[] }).issues[0]?.path).toEqual([
      "prompt",
    ]);

    const anonymous = createClient({ baseUrl: mesh.url });
    const unauth = await anonymous.tasks.list().catch((e: unknown) => e);
    expect(unauth).toBeInstanceOf(UnauthorizedError);
    expect((unauth as HubError).status).toBe(401);

    // Completing a task nobody holds: the hub refuses the write.
    const { body } = await client.tasks.create({
      body: { title: "t", prompt: "p", required_capability: "nobody" },
    });
    const refused = await client.tasks
      .complete({
        params: { id: body.task.id },
        body: { status: "done", output: "x" },
        headers: { "x-m3shd-agent": "w" },
      })
      .catch((e: unknown) => e);
    expect(isHubError(refused)).toBe(true);
    expect(
      refused instanceof ConflictError ||
        refused instanceof ForbiddenError ||
        refused instanceof NotFoundError,
    ).toBe(true);
  });

  it("the long-poll aborts at once on shutdown", async () => {
    const mesh = await testMesh();
    const client = createClient({ baseUrl: mesh.url, token: MASTER });
    await client.worker.register({
      params: { id: "w-abort" },
      body: { capabilities: ["echo"], max_concurrent: 1 },
    });
    const controller = new AbortController();
    const started = Date.now();
    const poll = client.nextTask("w-abort", { waitSeconds: 20, signal: controller.signal });
    setTimeout(() => controller.abort(new Error("shutting down")), 100);
    await expect(poll).rejects.toThrow("shutting down");
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("a refused connection is an unreachable error, not retried for a POST", async () => {
    const closed = await scriptedServer((_req, res) => res.end());
    const url = closed.url;
    await new Promise<void>((resolve) => closed.server.close(() => resolve()));
    let calls = 0;
    const client = createClient({
      baseUrl: url,
      token: MASTER,
      retry: { baseDelayMs: 5 },
      fetch: (u, init) => {
        calls++;
        return fetch(u, init);
      },
    });
    const post = await client.tasks
      .create({ body: { title: "t", prompt: "p", required_capability: "echo" } })
      .catch((e: unknown) => e);
    expect(post).toBeInstanceOf(HubUnreachableError);
    expect((post as HubUnreachableError).message).toMatch(/ECONNREFUSED/);
    expect(calls).toBe(1);
    calls = 0;
    await expect(client.tasks.list()).rejects.toBeInstanceOf(HubUnreachableError);
    expect(calls).toBe(3); // GET: the first try and two retries
  });

  it("a 2xx that breaks the contract is a bad_response error", async () => {
    const server = await scriptedServer((req, res) => {
      if (req.url?.startsWith("/api/tasks?")) {
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ tasks: [{ id: 1 }] }));
      } else if (req.url === "/api/tasks") {
        res.writeHead(202, { "content-type": "application/json" }).end("{}");
      } else {
        res.writeHead(200, { "content-type": "text/html" }).end("<html>");
      }
    });
    const client = createClient({ baseUrl: server.url, token: MASTER });
    const schema = await client.tasks.list({ query: { limit: "1" } }).catch((e: unknown) => e);
    expect(schema).toBeInstanceOf(BadResponseError);
    expect((schema as BadResponseError).code).toBe("bad_response");
    expect((schema as BadResponseError).details).toMatchObject({ issues: expect.any(Array) });
    const status = await client.tasks
      .create({ body: { title: "t", prompt: "p", required_capability: "echo" } })
      .catch((e: unknown) => e);
    expect(status).toBeInstanceOf(BadResponseError);
    expect((status as BadResponseError).message).toContain("status 202");
    const html = await client.tasks.get({ params: { id: "task_x" } }).catch((e: unknown) => e);
    expect((html as BadResponseError).message).toContain("not JSON");
  });

  it("a descriptor added to the route list is a typed method with no client change", async () => {
    const pingRoute = defineRoute({
      id: "diag.ping",
      method: "POST",
      path: "/api/diag/:name/ping",
      permission: "public",
      summary: "ping",
      tags: ["diag"],
      params: z.object({ name: z.string() }),
      body: z.object({ n: z.int() }),
      bodyLimitBytes: 1024,
      responses: { 200: z.object({ pong: z.int() }), 204: null },
    });
    const tickRoute = defineRoute({
      id: "diag.ticks",
      method: "GET",
      path: "/api/diag/ticks",
      permission: "public",
      summary: "ticks",
      tags: ["diag"],
      responses: { 200: sseResponse(z.object({ tick: z.int() })) },
    });
    const server = await scriptedServer((req, res, _i, body) => {
      if (req.url === "/api/diag/ticks") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end('id: 1\ndata: {"tick":1}\n\n');
        return;
      }
      const n = (JSON.parse(body) as { n: number }).n;
      if (n === 0) res.writeHead(204).end();
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ pong: n + 1 }));
    });
    const client = createClient({ baseUrl: server.url, routes: [pingRoute, tickRoute] });
    const res = await client.diag.ping({ params: { name: "a b" }, body: { n: 1 } });
    if (res.status === 200) expectTypeOf(res.body).toEqualTypeOf<{ pong: number }>();
    else expectTypeOf(res.body).toEqualTypeOf<undefined>();
    expect(res).toEqual({ status: 200, body: { pong: 2 } });
    expect(server.requests[0]?.url).toBe("/api/diag/a%20b/ping");
    expect(await client.diag.ping({ params: { name: "x" }, body: { n: 0 } })).toEqual({
      status: 204,
      body: undefined,
    });
    const ticks = client.diag.ticks({ reconnect: { maxRetries: 0 } });
    for await (const t of ticks) {
      expectTypeOf(t).toEqualTypeOf<{ tick: number }>();
      expect(t.tick).toBe(1);
      break;
    }
    // @ts-expect-error not a route of this client
    expect(client.tasks).toBeUndefined();
  });
});
