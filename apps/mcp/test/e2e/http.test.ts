import { request as httpRequest } from "node:http";
import type { Mesh } from "@m3shd/mesh";
import {
  getTaskRoute,
  listMessagesRoute,
  ROLE_PRESETS,
  requestApprovalRoute,
  revokeTokenRoute,
} from "@m3shd/protocol";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
  CallToolResultSchema,
  CreateTaskResultSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { TOOLS } from "../../src/tools";
import { expectToolsSnapshot } from "../tools-snapshot";
import {
  agentOnline,
  call,
  connectHttp,
  createScope,
  hubClient,
  MASTER,
  manualAgent,
  mintToken,
  ok,
  startHttpServer,
  startJobsWorker,
  startTestMesh,
  toolError,
  until,
} from "./helpers";

/*
 * The SDK's own Client over Streamable HTTP against the BUILT `m3shd-mcp http` in its own process,
 * against a real mesh (hub + dispatcher + memory in this process) with real `m3shd-worker` child
 * processes running the deterministic jobs provider — the same ground the stdio e2e covers. One
 * mesh, one HTTP server and one echo worker serve the whole file (each start costs seconds on a
 * loaded machine); every test uses its own capabilities, agents and tasks, so none sees another's.
 */

const scope = createScope();
let mesh: Mesh;
let server: Awaited<ReturnType<typeof startHttpServer>>;
/** The master token's client: every tool. */
let admin: Client;

beforeAll(async () => {
  mesh = await startTestMesh(scope.cleanup);
  startJobsWorker(mesh, "w-http", ["echo", "text_stats"], scope.cleanup);
  server = await startHttpServer(mesh, scope.cleanup);
  admin = await connectHttp(server.url, MASTER, scope.cleanup);
  await agentOnline(mesh, "w-http");
}, 90_000);

afterAll(() => scope.close(), 60_000);

const messagesOf = (progress: { message?: string }[]) => progress.map((p) => p.message ?? "");

describe("Streamable HTTP: the built binary in its own process against a real hub and workers", () => {
  test("metadata, the 401 challenge, hub-checked tokens and DNS-rebinding protection", async () => {
    const meta = await fetch(`${server.origin}/.well-known/oauth-protected-resource/mcp`);
    expect(meta.status).toBe(200);
    expect(await meta.json()).toMatchObject({ resource: server.url, authorization_servers: [mesh.url] });
    expect((await fetch(`${server.origin}/.well-known/oauth-protected-resource`)).status).toBe(200);

    const anonymous = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: {} }),
    });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toBe(
      `Bearer resource_metadata="${server.origin}/.well-known/oauth-protected-resource/mcp"`,
    );
    await expect(connectHttp(server.url, "not-a-real-token")).rejects.toThrow();

    // A foreign Host never reaches the hub (fetch cannot set Host; node:http can).
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(server.url);
      const req = httpRequest(
        { host: u.hostname, port: u.port, path: "/mcp", method: "POST", headers: { host: "evil.example" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end("{}");
    });
    expect(status).toBe(403);
  });

  test("every tool's happy path", { timeout: 90_000 }, async () => {
    const tools = (await admin.listTools()).tools;
    expect(tools.map((t) => t.name)).toEqual(TOOLS.map((t) => t.name));
    expectToolsSnapshot(tools, "http");

    const dispatched = await call(admin, "dispatch_task", {
      title: "echo",
      prompt: "hello over http",
      capability: "echo",
    });
    const id = dispatched.task_id as string;
    expect(await call(admin, "await_task", { task_id: id, timeout_s: 30 })).toMatchObject({
      state: "finished",
      task: { id, status: "done", output: "hello over http" },
    });
    expect(((await call(admin, "get_task", { task_id: id })).task as { output: string }).output).toBe(
      "hello over http",
    );
    expect(
      ((await call(admin, "list_tasks", { status: "done" })).tasks as { id: string }[]).map((t) => t.id),
    ).toContain(id);
    expect(await call(admin, "verify_provenance", { task_id: id })).toMatchObject({
      task_id: id,
      verified: true,
    });

    const stats = await call(admin, "dispatch_task", {
      title: "stats",
      prompt: "one two three four",
      capability: "text_stats",
    });
    const statsDone = await call(admin, "await_task", { task_id: stats.task_id, timeout_s: 30 });
    expect(JSON.parse((statsDone.task as { output: string }).output)).toMatchObject({ words: 4 });

    // Nobody serves `http_nobody`: the task waits, and can be cancelled.
    const idle = await call(admin, "dispatch_task", {
      title: "idle",
      prompt: "p",
      capability: "http_nobody",
    });
    expect((await call(admin, "cancel_task", { task_id: idle.task_id, reason: "test" })).task).toMatchObject({
      status: "cancelled",
      error: "test",
    });

    const pipeline = await call(admin, "create_pipeline", {
      steps: [
        { name: "a", title: "a", prompt: "first", required_capability: "echo" },
        { name: "b", title: "b", prompt: "second", required_capability: "echo" },
      ],
    });
    const steps = pipeline.steps as { name: string; task_id: string }[];
    expect(steps.map((s) => s.name)).toEqual(["a", "b"]);
    expect(await call(admin, "await_task", { task_id: steps[1]?.task_id, timeout_s: 30 })).toMatchObject({
      state: "finished",
      task: { status: "done" },
    });

    const templates = (await call(admin, "list_templates")).templates as { id: string; name: string }[];
    expect(templates.map((t) => t.name)).toEqual(
      expect.arrayContaining(["Research", "Summarize", "QA", "Code Review", "Write"]),
    );
    const research = templates.find((t) => t.name === "Research");
    const fromTemplate = await call(admin, "dispatch_task", {
      template_id: research?.id,
      variables: { topic: "Streamable HTTP" },
    });
    expect(fromTemplate.task).toMatchObject({ required_capability: "research", status: "queued" });

    const agents = (await call(admin, "list_agents", { capability: "echo" })).agents as { id: string }[];
    expect(agents.map((a) => a.id)).toEqual(["w-http"]);

    // For an agent that runs no task here: the hub injects an agent's relevant memories into its
    // prompts, and the echo worker would echo them into later tests' outputs.
    expect(
      (
        await call(admin, "store_memory", {
          agent_id: "archivist",
          key: "river",
          value: "the river runs under the http bridge",
        })
      ).status,
    ).toBe("created");
    const found = await call(admin, "search_memory", { agent_id: "archivist", query: "river bridge" });
    expect((found.results as { entry: { key: string } }[]).map((r) => r.entry.key)).toContain("river");

    // An agent asks for approval (acting as w-http); the operator decides through MCP.
    await hubClient(mesh, MASTER, { "x-m3shd-agent": "w-http" }).request(requestApprovalRoute, {
      body: { action: "rotate-keys", description: "rotate the signing keys" },
    });
    const pending = (await call(admin, "list_approvals")).approvals as { id: string; action: string }[];
    expect(pending.map((a) => a.action)).toEqual(["rotate-keys"]);
    expect(
      (
        await call(admin, "decide_approval", {
          approval_id: pending[0]?.id,
          decision: "rejected",
          reason: "no",
        })
      ).approval,
    ).toMatchObject({ status: "rejected" });

    await call(admin, "set_context", { key: "http.release", value: { version: "2.0.0", ok: true } });
    expect((await call(admin, "get_context", { key: "http.release" })).entry).toMatchObject({
      value: { version: "2.0.0", ok: true },
    });

    // send_message posts as the credential; the hub's own message list has it.
    const posted = await call<{ message: { id: string; from: string } }>(admin, "send_message", {
      content: "release train left",
      channel: "http-ops",
    });
    expect(posted.message).toMatchObject({
      channel: "http-ops",
      content: "release train left",
      reply_to: null,
    });
    const channel = await hubClient(mesh).request(listMessagesRoute, { query: { channel: "http-ops" } });
    expect(channel.body.messages.map((m) => m.id)).toEqual([posted.message.id]);

    const summary = await call(admin, "mesh_summary");
    expect((summary.tasks as { by_status: Record<string, number> }).by_status.done).toBeGreaterThanOrEqual(4);
  });

  test("a weaker token does not see or call what it lacks; bad arguments and hub refusals are tool errors; revocation is immediate", async () => {
    const weak = await mintToken(mesh, "agent-http-weak", ROLE_PRESETS.worker);
    const weakClient = await connectHttp(server.url, weak.token);
    const names = (await weakClient.listTools()).tools.map((t) => t.name);
    expect(names).toContain("dispatch_task");
    expect(names).toContain("get_task");
    expect(names).not.toContain("decide_approval");
    expect(names).not.toContain("mesh_summary");
    // A hidden tool is not callable either: the SDK answers "not found" as a tool error.
    expect(toolError(await weakClient.callTool({ name: "mesh_summary", arguments: {} })).text).toMatch(
      /not found/,
    );

    const readOnly = await mintToken(mesh, "agent-http-ro", ["tasks:read"]);
    const roNames = (await (await connectHttp(server.url, readOnly.token)).listTools()).tools.map(
      (t) => t.name,
    );
    expect(roNames).not.toContain("dispatch_task");
    expect(roNames).toContain("await_task");

    // Bad arguments: refused by the tool's schema, as a tool error naming the field.
    const badType = toolError(await weakClient.callTool({ name: "get_task", arguments: { task_id: 42 } }));
    expect(badType.text).toMatch(/task_id/);
    const badCapability = toolError(
      await weakClient.callTool({
        name: "dispatch_task",
        arguments: { title: "t", prompt: "p", capability: "BAD CAP" },
      }),
    );
    expect(badCapability.text).toMatch(/validation/i);
    // A hub refusal keeps the protocol's code and message, never a stack.
    const missing = toolError(
      await weakClient.callTool({
        name: "get_task",
        arguments: { task_id: "task_01J0000000000000000000000Z" },
      }),
    );
    expect(missing.code).toBe("not_found");
    expect(missing.text).toMatch(/^not_found: /);
    expect(missing.text).not.toMatch(/\n\s+at /);

    // Revoked at the hub: the very next MCP request is refused.
    await hubClient(mesh).request(revokeTokenRoute, { params: { id: weak.agent_token.id } });
    await expect(weakClient.listTools()).rejects.toThrow();
  });

  test('a slow task: await_task answers "still running", then streams progress (a chunk) and a resource update, then the result', {
    timeout: 90_000,
  }, async () => {
    // No agent serves `http_late` yet: the task stays queued.
    const { task_id } = await call(admin, "dispatch_task", {
      title: "late",
      prompt: JSON.stringify({ job: "echo", input: "streamed over http" }),
      capability: "http_late",
    });
    const started = Date.now();
    const first = await call(admin, "await_task", { task_id, timeout_s: 2 });
    expect(Date.now() - started).toBeLessThan(60_000);
    expect(first).toMatchObject({ state: "still_running", task: { id: task_id, status: "queued" } });
    expect(first.waited_ms).toBeGreaterThanOrEqual(1500);
    expect(first.hint).toMatch(/call await_task again/);

    const uri = `m3shd://tasks/${task_id}`;
    const updates: string[] = [];
    admin.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await admin.subscribeResource({ uri });

    const progress: { progress: number; message?: string }[] = [];
    const waiting = admin.callTool({ name: "await_task", arguments: { task_id, timeout_s: 45 } }, undefined, {
      onprogress: (p) => {
        progress.push(p);
      },
    });
    await until(() => progress.length > 0, 15_000, "first progress");
    startJobsWorker(mesh, "w-http-late", ["http_late"]);
    const second = ok(await waiting);
    expect(second).toMatchObject({
      state: "finished",
      task: { status: "done", output: "streamed over http" },
    });

    const messages = messagesOf(progress);
    expect(messages[0]).toBe(`${task_id} is queued`);
    // The worker streamed the job's output as a chunk before completing: it arrives as progress,
    // before the final state, and progress only ever increases.
    expect(messages).toContain("streamed over http");
    expect(messages.indexOf("streamed over http")).toBeLessThan(messages.indexOf(`${task_id} is done`));
    expect(messages.at(-1)).toBe(`${task_id} is done`);
    expect(progress.map((p) => p.progress)).toEqual(
      [...progress].map((p) => p.progress).sort((a, b) => a - b),
    );

    await until(() => updates.includes(uri), 15_000, "resource update");
    const read = await admin.readResource({ uri });
    const content = read.contents[0];
    const body = JSON.parse(content && "text" in content ? content.text : "{}");
    expect(body.task.status).toBe("done");
    expect(body.chunks.map((c: { content: string }) => c.content)).toEqual(["streamed over http"]);
    await admin.unsubscribeResource({ uri });
  });

  test("a retried attempt's chunks are streamed as progress though its seq restarts at 0", {
    timeout: 60_000,
  }, async () => {
    const agent = await manualAgent(mesh, "w-http-retry", ["http_retry"]);
    const { task_id } = await call<{ task_id: string }>(admin, "dispatch_task", {
      title: "flaky",
      prompt: "p",
      capability: "http_retry",
      max_attempts: 2,
    });
    const progress: { progress: number; message?: string }[] = [];
    const waiting = admin.callTool({ name: "await_task", arguments: { task_id, timeout_s: 45 } }, undefined, {
      onprogress: (p) => {
        progress.push(p);
      },
    });
    const first = await agent.claim();
    expect(first).toMatchObject({ attempt: 1, task: { id: task_id } });
    await agent.stream(task_id, 1, 0, "try 1: part 1");
    await agent.stream(task_id, 1, 1, "try 1: part 2");
    // The follower has read attempt 1 up to seq 1 before the retry starts over at seq 0.
    await until(() => messagesOf(progress).includes("try 1: part 2"), 15_000, "attempt 1's chunks");
    await agent.fail(task_id, 1, "lost the connection");
    const second = await agent.claim();
    expect(second).toMatchObject({ attempt: 2, task: { id: task_id } });
    await agent.stream(task_id, 2, 0, "try 2: part 1");
    await agent.stream(task_id, 2, 1, "try 2: part 2");
    await agent.complete(task_id, 2, "try 2: part 1try 2: part 2");

    const result = ok(await waiting);
    expect(result).toMatchObject({ state: "finished", task: { status: "done", attempt: 2 } });
    const chunks = messagesOf(progress).filter((m) => !m.startsWith(task_id));
    expect(chunks).toEqual(["try 1: part 1", "try 1: part 2", "try 2: part 1", "try 2: part 2"]);
    expect(messagesOf(progress).at(-1)).toBe(`${task_id} is done`);
  });

  test("MCP Tasks: a task-augmented dispatch_task is followed on the hub; tasks/result answers the finished task; tasks/cancel cancels it", {
    timeout: 60_000,
  }, async () => {
    const created = await admin.request(
      {
        method: "tools/call",
        params: {
          name: "dispatch_task",
          arguments: { title: "as a task", prompt: "tasks over http", capability: "echo" },
          task: { ttl: 60_000 },
        },
      },
      CreateTaskResultSchema,
    );
    expect(created.task.status).toBe("working");
    const result = await admin.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
    expect(result.isError ?? false).toBe(false);
    const output = result.structuredContent as { task_id: string; status: string; task: { output: string } };
    expect(output).toMatchObject({ status: "done", task: { output: "tasks over http" } });
    expect((await admin.experimental.tasks.getTask(created.task.taskId)).status).toBe("completed");
    // The MCP task mirrored a real hub task.
    const hubTask = await hubClient(mesh).request(getTaskRoute, { params: { id: output.task_id } });
    expect(hubTask.body.task).toMatchObject({ status: "done", output: "tasks over http" });

    // Nobody serves `http_never`: cancelling the MCP task cancels the hub task.
    const idle = await admin.request(
      {
        method: "tools/call",
        params: {
          name: "dispatch_task",
          arguments: { title: "never", prompt: "p", capability: "http_never" },
          task: {},
        },
      },
      CreateTaskResultSchema,
    );
    expect((await admin.experimental.tasks.cancelTask(idle.task.taskId)).status).toBe("cancelled");
    const listed = await hubClient(mesh).request(getTaskRoute, {
      params: { id: await hubIdOf(admin, "never") },
    });
    expect(listed.body.task.status).toBe("cancelled");
  });
});

/** The newest hub task with `title`, through MCP's own list_tasks. */
async function hubIdOf(client: Client, title: string): Promise<string> {
  const tasks = (await call(client, "list_tasks", { limit: 100 })).tasks as { id: string; title: string }[];
  const task = tasks.find((t) => t.title === title);
  if (!task) throw new Error(`no task titled ${title}`);
  return task.id;
}
