import { type Permission, ROLE_PRESETS, TaskSchema } from "@m3shd/protocol";
import {
  type CallToolResult,
  CallToolResultSchema,
  CreateTaskResultSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, test } from "vitest";
import { AWAIT_MAX_MS, type AwaitClock, awaitTask } from "../src/await";
import { parseMcpEnv } from "../src/env";
import { ERROR_META_KEY } from "../src/errors";
import { MeshPortError } from "../src/port";
import { dispatchTask, TOOLS } from "../src/tools";
import { connectInMemory } from "./connect";
import { ALL_PERMISSIONS, MemoryMesh } from "./memory-mesh";
import { expectToolsSnapshot } from "./tools-snapshot";

function structured<T = Record<string, unknown>>(result: unknown): T {
  const parsed = CallToolResultSchema.parse(result);
  expect(parsed.isError ?? false, JSON.stringify(parsed.content)).toBe(false);
  return parsed.structuredContent as T;
}

function errorOf(result: unknown): { code: string; message: string; text: string } {
  const parsed = CallToolResultSchema.parse(result) as CallToolResult;
  expect(parsed.isError).toBe(true);
  const text = parsed.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
  const meta = (parsed._meta?.[ERROR_META_KEY] ?? {}) as { code?: string; message?: string };
  return { code: meta.code ?? "", message: meta.message ?? "", text };
}

function textOf(read: { contents: ({ text: string } | { blob: string })[] }): string {
  const first = read.contents[0];
  return first && "text" in first ? first.text : "";
}

/** A clock whose sleeps advance it at once (yielding to the event loop, so I/O still runs). */
function virtualClock(): AwaitClock & { start: number } {
  const start = Date.UTC(2026, 11, 1);
  let now = start;
  return {
    start,
    now: () => now,
    sleep: async (ms) => {
      now += ms;
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

async function admin() {
  const mesh = new MemoryMesh();
  const port = mesh.portFor(mesh.token("admin", ALL_PERMISSIONS));
  return { mesh, port, ...(await connectInMemory(port)) };
}

describe("tools/list", () => {
  test("a full credential sees all 17 tools, each with input and output schemas and a description", async () => {
    const { client } = await admin();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(TOOLS.map((t) => t.name));
    expect(tools).toHaveLength(17);
    for (const t of tools) {
      expect(t.description?.length, t.name).toBeGreaterThan(40);
      expect(t.inputSchema.type, t.name).toBe("object");
      expect(t.outputSchema?.type, t.name).toBe("object");
    }
    // dispatch_task is offered as an MCP task (optional), the rest are plain tools.
    expect(tools.find((t) => t.name === "dispatch_task")?.execution?.taskSupport).toBe("optional");
    expect(tools.find((t) => t.name === "get_task")?.execution?.taskSupport).toBe("forbidden");
    expectToolsSnapshot(tools, "in-memory");
  });

  test("a weaker token sees only the tools whose route permission it holds; a hidden tool cannot be called", async () => {
    const mesh = new MemoryMesh();
    const readOnly: Permission[] = ["tasks:read", "agents:read"];
    const { client } = await connectInMemory(mesh.portFor(mesh.token("viewer", readOnly)));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(TOOLS.filter((t) => readOnly.includes(t.permission)).map((t) => t.name));
    expect(names).not.toContain("dispatch_task");
    expect(names).not.toContain("decide_approval");
    const denied = await client.callTool({
      name: "dispatch_task",
      arguments: { title: "x", prompt: "y", capability: "echo" },
    });
    expect(errorOf(denied).text).toMatch(/dispatch_task not found/);
    expect(mesh.tasks.size).toBe(0);
  });

  test("the worker preset (no agents:write, no admin:analytics) does not see decide_approval or mesh_summary", async () => {
    const mesh = new MemoryMesh();
    const { client } = await connectInMemory(mesh.portFor(mesh.token("w", ROLE_PRESETS.worker)));
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("dispatch_task");
    expect(names).not.toContain("decide_approval");
    expect(names).not.toContain("mesh_summary");
  });
});

describe("every tool's happy path", () => {
  test("all 17 tools answer structured output that parses with their schemas", async () => {
    const { client, mesh } = await admin();
    const call = async (name: string, args: Record<string, unknown> = {}) =>
      structured(await client.callTool({ name, arguments: args }));

    const dispatched = await call("dispatch_task", {
      title: "t",
      prompt: "do",
      capability: "echo",
      priority: 7,
    });
    const id = dispatched.task_id as string;
    expect(dispatched.status).toBe("queued");
    expect(TaskSchema.parse(dispatched.task).priority).toBe(7);
    expect(((await call("get_task", { task_id: id })).task as { id: string }).id).toBe(id);
    const listed = await call("list_tasks", { limit: 5 });
    expect((listed.tasks as { id: string }[]).map((t) => t.id)).toContain(id);
    expect(listed.tasks as object[]).not.toHaveProperty("0.prompt");

    mesh.set(id, { status: "done", output: "42", completed_at: mesh.now });
    const awaited = await call("await_task", { task_id: id });
    expect(awaited.state).toBe("finished");
    expect((awaited.task as { output: string }).output).toBe("42");
    const proof = await call("verify_provenance", { task_id: id });
    expect(proof.verified).toBe(true);

    const other = (await call("dispatch_task", { title: "t2", prompt: "p", capability: "echo" })).task_id;
    expect(
      ((await call("cancel_task", { task_id: other, reason: "no" })).task as { status: string }).status,
    ).toBe("cancelled");

    const pipeline = await call("create_pipeline", {
      steps: [
        { title: "a", prompt: "first", required_capability: "research" },
        { title: "b", prompt: "second", required_capability: "write" },
      ],
    });
    expect(pipeline.steps as object[]).toHaveLength(2);

    const templates = (await call("list_templates")).templates as { id: string; variables: string[] }[];
    expect(templates[0]?.variables).toEqual(["topic"]);
    // dispatch_task's template form: the template's capability and prompt, variables filled in.
    const fromTemplate = await call("dispatch_task", {
      template_id: templates[0]?.id,
      variables: { topic: "MCP" },
      priority: 9,
    });
    expect(fromTemplate.task).toMatchObject({
      title: "Research",
      prompt: "Research MCP.",
      required_capability: "research",
      priority: 9,
    });
    expect(mesh.calls.filter((c) => c.startsWith("dispatchTemplate:"))).toHaveLength(1);

    expect((await call("list_agents", { capability: "research" })).agents as object[]).toHaveLength(1);
    expect((await call("list_agents", { capability: "nope" })).agents as object[]).toHaveLength(0);

    expect(
      (await call("store_memory", { agent_id: "agent-1", key: "k", value: "the sky is blue" })).status,
    ).toBe("created");
    expect((await call("search_memory", { query: "sky" })).results as object[]).toHaveLength(1);

    const approvals = (await call("list_approvals")).approvals as { id: string }[];
    expect(approvals).toHaveLength(1);
    const decided = await call("decide_approval", { approval_id: approvals[0]?.id, decision: "approved" });
    expect((decided.approval as { status: string }).status).toBe("approved");

    await call("set_context", { key: "release.version", value: { major: 1, tags: ["a"] } });
    expect((await call("get_context", { key: "release.version" })).entry).toMatchObject({
      value: { major: 1, tags: ["a"] },
    });

    const posted = await call("send_message", { content: "deploy finished", channel: "ops" });
    expect(posted.message).toMatchObject({ channel: "ops", from: "key:admin", content: "deploy finished" });
    const reply = await call("send_message", {
      content: "thanks",
      reply_to: (posted.message as { id: string }).id,
    });
    expect(reply.message).toMatchObject({
      channel: "general",
      reply_to: (posted.message as { id: string }).id,
    });

    const summary = await call("mesh_summary");
    expect(summary.pending_approvals).toBe(0);
  });
});

describe("errors", () => {
  test("bad arguments are a tool error and never reach the mesh", async () => {
    const { client, mesh } = await admin();
    const before = mesh.calls.length;
    for (const args of [
      { title: "t", prompt: "p" }, // capability missing
      { title: "t", prompt: "p", capability: "Not A Capability!" },
      { title: "t", prompt: "p", capability: "echo", priority: 11 },
      { title: "t", prompt: "p", capability: "echo", surprise: true },
      { prompt: "p", capability: "echo" }, // a prompt needs a title
      { title: "t", prompt: "p", capability: "echo", variables: { topic: "x" } }, // variables without a template
      { template_id: "tpl_01J0000000000000000000000Z", prompt: "p" }, // both forms at once
      {}, // neither form
    ]) {
      const err = errorOf(await client.callTool({ name: "dispatch_task", arguments: args }));
      expect(err.text, JSON.stringify(args)).toMatch(/validation/i);
    }
    expect(errorOf(await client.callTool({ name: "get_task", arguments: { task_id: "nope" } })).text).toMatch(
      /validation/i,
    );
    expect(
      errorOf(await client.callTool({ name: "await_task", arguments: { task_id: "x", timeout_s: 120 } }))
        .text,
    ).toMatch(/validation/i);
    expect(
      errorOf(
        await client.callTool({ name: "send_message", arguments: { content: "", channel: "Not A Channel" } }),
      ).text,
    ).toMatch(/validation/i);
    expect(mesh.calls.length).toBe(before);
  });

  test("a hub refusal keeps the protocol's code and message; no stack", async () => {
    const { client } = await admin();
    const missing = errorOf(
      await client.callTool({ name: "get_task", arguments: { task_id: "task_01J0000000000000000000000Z" } }),
    );
    expect(missing.code).toBe("not_found");
    expect(missing.text).toBe("not_found: task task_01J0000000000000000000000Z not found");
    expect(missing.text).not.toMatch(/\n\s+at /);
  });

  test("the hub's own permission check is mapped too (a tool visible but refused)", async () => {
    const mesh = new MemoryMesh();
    const port = mesh.portFor(mesh.token("t", ALL_PERMISSIONS));
    const { client } = await connectInMemory(port);
    // Permissions shrink after the session started (a token edited): the hub refuses.
    mesh.token("t", ["tasks:read"]);
    const refused = errorOf(await client.callTool({ name: "list_agents", arguments: {} }));
    expect(refused).toMatchObject({ code: "forbidden", message: "Missing permission agents:read" });
    const dispatch = errorOf(
      await client.callTool({
        name: "dispatch_task",
        arguments: { title: "t", prompt: "p", capability: "echo" },
      }),
    );
    expect(dispatch.text).toMatch(/^forbidden: Missing permission tasks:write/);
    expect(dispatch.code).toBe("forbidden");
  });

  test("an unexpected error is `internal` with a fixed message; its text (and stack) is only logged", async () => {
    const mesh = new MemoryMesh();
    const port = mesh.portFor(mesh.token("t", ALL_PERMISSIONS));
    const broken = {
      ...port,
      listTemplates: async () => {
        throw new Error("ECONNREFUSED /var/secret/path token=abc123");
      },
    };
    const { client, errors } = await connectInMemory(broken);
    const err = errorOf(await client.callTool({ name: "list_templates", arguments: {} }));
    expect(err.code).toBe("internal");
    expect(err.text).not.toMatch(/secret|abc123|ECONNREFUSED/);
    expect(errors).toHaveLength(1);
    expect(new MeshPortError("conflict", "x").code).toBe("conflict");
  });
});

describe("await_task and progress", () => {
  test('answers "still running" with the state when its wait runs out, and the result on a later call', async () => {
    const mesh = new MemoryMesh();
    const { client } = await connectInMemory(mesh.portFor(mesh.token("t", ALL_PERMISSIONS)), {
      awaitMaxMs: 300,
    });
    const { task_id } = structured<{ task_id: string }>(
      await client.callTool({
        name: "dispatch_task",
        arguments: { title: "t", prompt: "p", capability: "echo" },
      }),
    );
    mesh.set(task_id, { status: "running", assigned_to: "agent-1" });
    const started = Date.now();
    const first = structured<{ state: string; task: { status: string }; hint: string }>(
      await client.callTool({ name: "await_task", arguments: { task_id } }),
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(first.state).toBe("still_running");
    expect(first.task.status).toBe("running");
    expect(first.hint).toMatch(/call await_task again/);
    mesh.set(task_id, { status: "done", output: "finished!", completed_at: mesh.now });
    const second = structured<{ state: string; task: { output: string } }>(
      await client.callTool({ name: "await_task", arguments: { task_id } }),
    );
    expect(second).toMatchObject({ state: "finished", task: { output: "finished!" } });
  });

  test("the wait is capped at 50 s whatever the server is told", async () => {
    const mesh = new MemoryMesh();
    // A virtual clock: every poll's sleep advances it at once, so 50 s of waiting takes milliseconds.
    const clock = virtualClock();
    const { client } = await connectInMemory(mesh.portFor(mesh.token("t", ALL_PERMISSIONS)), {
      awaitMaxMs: 10 * 60_000,
      pollMs: 1000,
      clock,
    });
    const tool = (await client.listTools()).tools.find((t) => t.name === "await_task");
    expect(tool?.inputSchema.properties?.timeout_s).toMatchObject({ maximum: 50 });
    const { task_id } = structured<{ task_id: string }>(
      await client.callTool({
        name: "dispatch_task",
        arguments: { title: "t", prompt: "p", capability: "none" },
      }),
    );
    const started = Date.now();
    const first = structured<{ state: string; waited_ms: number }>(
      await client.callTool({ name: "await_task", arguments: { task_id } }),
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(first.state).toBe("still_running");
    // It answered within the 50 s ceiling (the next 1 s poll would have passed it) and not early.
    expect(first.waited_ms).toBeLessThanOrEqual(50_000);
    expect(first.waited_ms).toBeGreaterThanOrEqual(49_000);
    expect(clock.now() - clock.start).toBeLessThanOrEqual(50_000);
    // Asking for more than 50 s is a bad argument, not a longer wait.
    const tooLong = errorOf(
      await client.callTool({ name: "await_task", arguments: { task_id, timeout_s: 120 } }),
    );
    expect(tooLong.text).toMatch(/timeout_s/);
  });

  test("awaitTask itself clamps a ceiling above 50 s (no caller can configure past the client's 60 s)", async () => {
    const mesh = new MemoryMesh();
    const port = mesh.portFor(mesh.token("t", ALL_PERMISSIONS));
    const { task_id } = await dispatchTask(port, { title: "t", prompt: "p", capability: "none" });
    const clock = virtualClock();
    const result = await awaitTask(port, task_id, { maxMs: 10 * 60_000, pollMs: 250, clock });
    expect(result.state).toBe("still_running");
    expect(result.waited_ms).toBeLessThanOrEqual(AWAIT_MAX_MS);
    expect(result.waited_ms).toBeGreaterThan(AWAIT_MAX_MS - 250);
    // …and the environment refuses such a setting at boot.
    expect(() => parseMcpEnv({ M3SHD_MCP_AWAIT_MAX_MS: "120000" })).toThrow(/M3SHD_MCP_AWAIT_MAX_MS/);
  });

  test("state changes and streamed chunks arrive as progress notifications while await_task runs", async () => {
    const mesh = new MemoryMesh();
    const { client } = await connectInMemory(mesh.portFor(mesh.token("t", ALL_PERMISSIONS)));
    const { task_id } = structured<{ task_id: string }>(
      await client.callTool({
        name: "dispatch_task",
        arguments: { title: "t", prompt: "p", capability: "echo" },
      }),
    );
    const progress: { progress: number; message?: string }[] = [];
    const pending = client.callTool({ name: "await_task", arguments: { task_id } }, undefined, {
      onprogress: (p) => {
        progress.push(p);
        // Drive the task from what the client sees, not from sleeps.
        if (progress.length === 1) mesh.set(task_id, { status: "running", assigned_to: "agent-1" });
        if (p.message?.endsWith("running")) mesh.chunk(task_id, "hello ");
        if (p.message === "hello ") {
          mesh.chunk(task_id, "world");
          mesh.set(task_id, { status: "done", output: "hello world", completed_at: mesh.now });
        }
      },
    });
    const result = structured<{ state: string }>(await pending);
    expect(result.state).toBe("finished");
    const messages = progress.map((p) => p.message);
    expect(messages).toEqual([
      `${task_id} is queued`,
      `${task_id} is running`,
      "hello ",
      "world",
      `${task_id} is done`,
    ]);
    // Strictly increasing, as MCP requires.
    expect(progress.map((p) => p.progress)).toEqual([...progress.keys()].map((i) => i + 1));
  });

  test("a retried attempt's chunks are reported although its seq restarts at 0", async () => {
    const mesh = new MemoryMesh();
    const { client } = await connectInMemory(mesh.portFor(mesh.token("t", ALL_PERMISSIONS)));
    const { task_id } = structured<{ task_id: string }>(
      await client.callTool({
        name: "dispatch_task",
        arguments: { title: "t", prompt: "p", capability: "echo", max_attempts: 2 },
      }),
    );
    const progress: { progress: number; message?: string }[] = [];
    const pending = client.callTool({ name: "await_task", arguments: { task_id } }, undefined, {
      onprogress: (p) => {
        progress.push(p);
        // Attempt 1 streams two chunks (seq 0, 1) and fails; the retry (attempt 2) streams seq 0, 1
        // again and completes. Each step is driven by what the client has seen.
        if (p.message === `${task_id} is queued`)
          mesh.set(task_id, { status: "running", assigned_to: "agent-1" });
        if (p.message === `${task_id} is running`) {
          mesh.chunk(task_id, "first try, part one");
          mesh.chunk(task_id, "first try, part two");
        }
        if (p.message === "first try, part two") {
          mesh.set(task_id, { status: "queued", assigned_to: null, error: "worker lost" });
          mesh.set(task_id, { status: "running", assigned_to: "agent-1" });
          mesh.chunk(task_id, "second try, part one");
        }
        if (p.message === "second try, part one") {
          mesh.chunk(task_id, "second try, part two");
          mesh.set(task_id, { status: "done", output: "second try", completed_at: mesh.now });
        }
      },
    });
    const result = structured<{ state: string; task: { attempt: number } }>(await pending);
    expect(result).toMatchObject({ state: "finished", task: { attempt: 2 } });
    expect(mesh.chunks.get(task_id)?.map((c) => [c.attempt, c.seq])).toEqual([
      [1, 0],
      [1, 1],
      [2, 0],
      [2, 1],
    ]);
    expect(progress.map((p) => p.message)).toEqual([
      `${task_id} is queued`,
      `${task_id} is running`,
      "first try, part one",
      "first try, part two",
      `${task_id} is running (attempt 2)`,
      "second try, part one",
      "second try, part two",
      `${task_id} is done`,
    ]);
    expect(progress.map((p) => p.progress)).toEqual([...progress.keys()].map((i) => i + 1));
  });

  test("a late follower reports every attempt's chunks in order, each once", async () => {
    const mesh = new MemoryMesh();
    const port = mesh.portFor(mesh.token("t", ALL_PERMISSIONS));
    const { task_id } = await dispatchTask(port, { title: "t", prompt: "p", capability: "echo" });
    mesh.set(task_id, { status: "running" });
    mesh.chunk(task_id, "a0");
    mesh.chunk(task_id, "a1");
    mesh.set(task_id, { status: "queued" });
    mesh.set(task_id, { status: "running" });
    mesh.chunk(task_id, "b0");
    const messages: string[] = [];
    const following = awaitTask(port, task_id, {
      maxMs: 5000,
      pollMs: 10,
      onProgress: (step) => {
        messages.push(step.message);
        // Attempt 3 opens after the follower has read attempt 2's first chunk.
        if (step.message === "b0") {
          mesh.chunk(task_id, "b1");
          mesh.set(task_id, { status: "queued" });
          mesh.set(task_id, { status: "running" });
          mesh.chunk(task_id, "c0");
          mesh.set(task_id, { status: "done", output: "c0", completed_at: mesh.now });
        }
      },
    });
    expect((await following).state).toBe("finished");
    // Attempt 1 has ended: its output comes before the state it ended in; then attempt 2's.
    expect(messages).toEqual([
      "a0",
      "a1",
      `${task_id} is running (attempt 2)`,
      "b0",
      "b1",
      "c0",
      `${task_id} is done`,
    ]);
  });
});

describe("resources", () => {
  test("tasks/{id}, agents and templates are listed and read", async () => {
    const { client, mesh } = await admin();
    const { task_id } = structured<{ task_id: string }>(
      await client.callTool({
        name: "dispatch_task",
        arguments: { title: "t", prompt: "p", capability: "echo" },
      }),
    );
    mesh.chunk(task_id, "partial");
    const listed = (await client.listResources()).resources.map((r) => r.uri);
    expect(listed).toEqual(
      expect.arrayContaining(["m3shd://agents", "m3shd://templates", `m3shd://tasks/${task_id}`]),
    );
    const templates = (await client.listResourceTemplates()).resourceTemplates.map((r) => r.uriTemplate);
    expect(templates).toEqual(["m3shd://tasks/{id}"]);
    const read = await client.readResource({ uri: `m3shd://tasks/${task_id}` });
    const body = JSON.parse(textOf(read));
    expect(body.task.id).toBe(task_id);
    expect(body.chunks).toEqual([{ attempt: 1, seq: 0, content: "partial" }]);
    const agents = JSON.parse(textOf(await client.readResource({ uri: "m3shd://agents" })));
    expect(agents.agents[0].id).toBe("agent-1");
    await expect(
      client.readResource({ uri: "m3shd://tasks/task_01J0000000000000000000000Z" }),
    ).rejects.toThrow(/not_found/);
  });

  test("a subscription to a task is notified when the task changes", async () => {
    const { client, mesh } = await admin();
    const { task_id } = structured<{ task_id: string }>(
      await client.callTool({
        name: "dispatch_task",
        arguments: { title: "t", prompt: "p", capability: "echo" },
      }),
    );
    const uri = `m3shd://tasks/${task_id}`;
    const updates: string[] = [];
    let notify: () => void = () => {};
    const updated = new Promise<void>((resolve) => {
      notify = resolve;
    });
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
      notify();
    });
    await client.subscribeResource({ uri });
    mesh.set(task_id, { status: "running", assigned_to: "agent-1" });
    await updated;
    expect(updates[0]).toBe(uri);
    await client.unsubscribeResource({ uri });
    await expect(client.subscribeResource({ uri: "m3shd://nothing" })).rejects.toThrow(/Unknown/);
  });

  test("a credential without agents:read has no agents resource", async () => {
    const mesh = new MemoryMesh();
    const { client } = await connectInMemory(mesh.portFor(mesh.token("t", ["tasks:read"])));
    const listed = (await client.listResources()).resources.map((r) => r.uri);
    expect(listed).not.toContain("m3shd://agents");
    await expect(client.subscribeResource({ uri: "m3shd://agents" })).rejects.toThrow();
  });
});

describe("MCP Tasks (experimental) for dispatch_task", () => {
  test("a task-augmented call answers a working task at once; tasks/get follows the hub; tasks/result gives the task", async () => {
    const { client, mesh } = await admin();
    const created = await client.request(
      {
        method: "tools/call",
        params: {
          name: "dispatch_task",
          arguments: { title: "t", prompt: "p", capability: "echo" },
          task: { ttl: 60_000 },
        },
      },
      CreateTaskResultSchema,
    );
    expect(created.task.status).toBe("working");
    const taskId = created.task.taskId;
    const hubId = [...mesh.tasks.keys()][0] as string;
    expect((await client.experimental.tasks.getTask(taskId)).status).toBe("working");
    mesh.set(hubId, { status: "done", output: "ok", completed_at: mesh.now });
    const result = await client.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({
      task_id: hubId,
      status: "done",
      task: { output: "ok" },
    });
    expect((await client.experimental.tasks.getTask(taskId)).status).toBe("completed");
  });

  test("a template dispatch runs as a task too; a hub refusal is a failed task with the protocol error; bad arguments never reach the hub", async () => {
    const { client, mesh } = await admin();
    const template = mesh.templates[0];
    const created = await client.request(
      {
        method: "tools/call",
        params: {
          name: "dispatch_task",
          arguments: { template_id: template?.id, variables: { topic: "Tasks" } },
          task: {},
        },
      },
      CreateTaskResultSchema,
    );
    expect(created.task.status).toBe("working");
    const hubId = [...mesh.tasks.keys()][0] as string;
    expect(mesh.tasks.get(hubId)).toMatchObject({
      prompt: "Research Tasks.",
      required_capability: "research",
    });
    mesh.set(hubId, { status: "done", output: "found", completed_at: mesh.now });
    const result = await client.experimental.tasks.getTaskResult(created.task.taskId, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ task_id: hubId, task: { output: "found" } });

    // A hub refusal of a task-augmented dispatch: a failed MCP task whose result is the tool
    // error with the protocol's code and message.
    const refused = await client.request(
      {
        method: "tools/call",
        params: {
          name: "dispatch_task",
          arguments: { template_id: "tpl_01J0000000000000000000000Z" },
          task: {},
        },
      },
      CreateTaskResultSchema,
    );
    expect(refused.task.status).toBe("failed");
    const refusal = errorOf(
      await client.experimental.tasks.getTaskResult(refused.task.taskId, CallToolResultSchema),
    );
    expect(refusal).toMatchObject({
      code: "not_found",
      text: expect.stringMatching(/^not_found: template /),
    });

    // Bad arguments never reach the hub. The SDK (1.32) validates before the adapter runs and
    // answers a task-augmented request's validation failure as a JSON-RPC InvalidParams error.
    const before = mesh.calls.length;
    const mixed = client.request(
      {
        method: "tools/call",
        params: {
          name: "dispatch_task",
          arguments: { template_id: template?.id, prompt: "p", capability: "echo" },
          task: {},
        },
      },
      CreateTaskResultSchema,
    );
    await expect(mixed).rejects.toThrow(/-32602/);
    expect(mesh.calls.length).toBe(before);
  });

  test("tasks/cancel cancels the hub task", async () => {
    const { client, mesh } = await admin();
    const created = await client.request(
      {
        method: "tools/call",
        params: {
          name: "dispatch_task",
          arguments: { title: "t", prompt: "p", capability: "echo" },
          task: {},
        },
      },
      CreateTaskResultSchema,
    );
    const hubId = [...mesh.tasks.keys()][0] as string;
    const cancelled = await client.experimental.tasks.cancelTask(created.task.taskId);
    expect(cancelled.status).toBe("cancelled");
    expect(mesh.tasks.get(hubId)?.status).toBe("cancelled");
  });

  test("a plain call still returns at once with the task id (no polling to completion)", async () => {
    const { client, mesh } = await admin();
    const started = Date.now();
    const out = structured<{ task_id: string; status: string }>(
      await client.callTool({
        name: "dispatch_task",
        arguments: { title: "t", prompt: "p", capability: "echo" },
      }),
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(out.status).toBe("queued");
    expect(mesh.tasks.get(out.task_id)?.status).toBe("queued");
  });
});
