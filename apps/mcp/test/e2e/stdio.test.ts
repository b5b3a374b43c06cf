import { listMessagesRoute, ROLE_PRESETS, requestApprovalRoute } from "@m3shd/protocol";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, test } from "vitest";
import { TOOLS } from "../../src/tools";
import { expectToolsSnapshot } from "../tools-snapshot";
import {
  call,
  connectStdio,
  hubClient,
  MASTER,
  mintToken,
  ok,
  runBinary,
  startJobsWorker,
  startTestMesh,
  toolError,
  until,
} from "./helpers";

/*
 * The SDK's own Client against a real stdio child process of the BUILT `m3shd-mcp`, against a
 * real mesh (hub + dispatcher + memory in this process) with a real `m3shd-worker` child running
 * the deterministic jobs provider.
 */

describe("stdio: the built binary against a real hub and a real worker", () => {
  test("every tool's happy path", { timeout: 90_000 }, async () => {
    const mesh = await startTestMesh();
    startJobsWorker(mesh, "w-jobs", ["echo", "text_stats"]);
    const hub = hubClient(mesh);
    await until(
      async () =>
        (await hub.agents.list()).body.agents.some((a) => a.id === "w-jobs" && a.status !== "offline"),
      20_000,
      "worker online",
    );
    const { client } = await connectStdio(mesh, MASTER);

    const tools = (await client.listTools()).tools;
    expect(tools.map((t) => t.name)).toEqual(TOOLS.map((t) => t.name));
    expectToolsSnapshot(tools, "stdio");

    // dispatch → await: a deterministic echo job completes with its own prompt.
    const dispatched = await call(client, "dispatch_task", {
      title: "echo",
      prompt: "hello mesh",
      capability: "echo",
    });
    const id = dispatched.task_id as string;
    const done = await call(client, "await_task", { task_id: id, timeout_s: 30 });
    expect(done).toMatchObject({ state: "finished", task: { id, status: "done", output: "hello mesh" } });
    expect(((await call(client, "get_task", { task_id: id })).task as { output: string }).output).toBe(
      "hello mesh",
    );
    expect(
      ((await call(client, "list_tasks", { status: "done" })).tasks as { id: string }[]).map((t) => t.id),
    ).toContain(id);
    const proof = await call(client, "verify_provenance", { task_id: id });
    expect(proof).toMatchObject({ task_id: id, verified: true });

    const stats = await call(client, "dispatch_task", {
      title: "stats",
      prompt: "one two three",
      capability: "text_stats",
    });
    const statsDone = await call(client, "await_task", { task_id: stats.task_id, timeout_s: 30 });
    expect(JSON.parse((statsDone.task as { output: string }).output)).toMatchObject({ words: 3 });

    // Nobody serves `nobody`: the task waits, and can be cancelled.
    const idle = await call(client, "dispatch_task", { title: "idle", prompt: "p", capability: "nobody" });
    expect(
      (
        (await call(client, "cancel_task", { task_id: idle.task_id, reason: "test" })).task as {
          status: string;
        }
      ).status,
    ).toBe("cancelled");

    const pipeline = await call(client, "create_pipeline", {
      steps: [
        { name: "a", title: "a", prompt: "first", required_capability: "echo" },
        { name: "b", title: "b", prompt: "second", required_capability: "echo" },
      ],
    });
    const steps = pipeline.steps as { name: string; task_id: string }[];
    expect(steps.map((s) => s.name)).toEqual(["a", "b"]);
    const last = await call(client, "await_task", { task_id: steps[1]?.task_id, timeout_s: 30 });
    expect(last.state).toBe("finished");

    const templates = (await call(client, "list_templates")).templates as { id: string; name: string }[];
    expect(templates.map((t) => t.name)).toEqual(
      expect.arrayContaining(["Research", "Summarize", "QA", "Code Review", "Write"]),
    );
    const research = templates.find((t) => t.name === "Research");
    const fromTemplate = await call(client, "dispatch_task", {
      template_id: research?.id,
      variables: { topic: "MCP" },
    });
    expect(fromTemplate.task).toMatchObject({ required_capability: "research", status: "queued" });

    const agents = (await call(client, "list_agents", { capability: "echo" })).agents as { id: string }[];
    expect(agents.map((a) => a.id)).toEqual(["w-jobs"]);

    const stored = await call(client, "store_memory", {
      agent_id: "w-jobs",
      key: "sky",
      value: "the sky is blue over the mesh",
    });
    expect(stored.status).toBe("created");
    const found = await call(client, "search_memory", { agent_id: "w-jobs", query: "sky blue" });
    expect((found.results as { entry: { key: string } }[]).map((r) => r.entry.key)).toContain("sky");

    // An agent asks for approval (acting as w-jobs); the operator decides through MCP.
    await hubClient(mesh, MASTER, { "x-m3shd-agent": "w-jobs" }).request(requestApprovalRoute, {
      body: { action: "deploy", description: "ship it" },
    });
    const pending = (await call(client, "list_approvals")).approvals as { id: string; action: string }[];
    expect(pending.map((a) => a.action)).toEqual(["deploy"]);
    const decided = await call(client, "decide_approval", {
      approval_id: pending[0]?.id,
      decision: "approved",
      reason: "ok",
    });
    expect(decided.approval).toMatchObject({ status: "approved" });

    await call(client, "set_context", { key: "release.train", value: { version: "1.2.0" } });
    expect((await call(client, "get_context", { key: "release.train" })).entry).toMatchObject({
      value: { version: "1.2.0" },
    });

    // send_message posts as the credential; the hub's own message list has it.
    const posted = await call<{ message: { id: string; from: string } }>(client, "send_message", {
      content: "release train left",
      channel: "ops",
    });
    expect(posted.message).toMatchObject({ channel: "ops", content: "release train left", reply_to: null });
    const channel = await hubClient(mesh).request(listMessagesRoute, { query: { channel: "ops" } });
    expect(channel.body.messages.map((m) => m.id)).toEqual([posted.message.id]);

    const summary = await call(client, "mesh_summary");
    expect((summary.tasks as { by_status: Record<string, number> }).by_status.done).toBeGreaterThanOrEqual(4);
  });

  test("a weaker token does not see what it lacks; bad arguments and hub refusals are tool errors", {
    timeout: 60_000,
  }, async () => {
    const mesh = await startTestMesh();
    const worker = await mintToken(mesh, "agent-weak", ROLE_PRESETS.worker);
    const { client } = await connectStdio(mesh, worker.token);
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("dispatch_task");
    expect(names).not.toContain("decide_approval");
    expect(names).not.toContain("mesh_summary");
    expect(toolError(await client.callTool({ name: "decide_approval", arguments: {} })).text).toMatch(
      /not found/,
    );

    const readOnly = await mintToken(mesh, "agent-ro", ["tasks:read"]);
    const ro = await connectStdio(mesh, readOnly.token);
    const roNames = (await ro.client.listTools()).tools.map((t) => t.name);
    expect(roNames).not.toContain("dispatch_task");
    expect(roNames).toContain("await_task");

    const bad = toolError(
      await client.callTool({
        name: "dispatch_task",
        arguments: { title: "t", prompt: "p", capability: "BAD CAP" },
      }),
    );
    expect(bad.text).toMatch(/validation/i);
    const missing = toolError(
      await client.callTool({ name: "get_task", arguments: { task_id: "task_01J0000000000000000000000Z" } }),
    );
    expect(missing.code).toBe("not_found");
    expect(missing.text).toMatch(/^not_found: /);
    expect(missing.text).not.toMatch(/\n\s+at /);
  });

  test("a bad token fails at start with a clear message and exit code 2; a token in argv is refused", {
    timeout: 60_000,
  }, async () => {
    const mesh = await startTestMesh();
    await expect(connectStdio(mesh, "not-a-token")).rejects.toThrow();
    // Async, never spawnSync: the hub runs in this process and must keep answering.
    const refused = await runBinary([], { M3SHD_HUB_URL: mesh.url, M3SHD_TOKEN: "not-a-token" });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/hub refused the token \(unauthorized: /);
    const argv = await runBinary(["--token", MASTER], {});
    expect(argv.code).toBe(2);
    expect(argv.stderr).toMatch(/unexpected arguments/);
    expect(argv.stderr).not.toContain(MASTER);
    const noToken = await runBinary([], {});
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toMatch(/M3SHD_TOKEN/);
  });

  test('await_task answers "still running" before 60 s for a slow task, and the final result on a later call', {
    timeout: 120_000,
  }, async () => {
    const mesh = await startTestMesh();
    const { client } = await connectStdio(mesh, MASTER);
    // No agent serves `late_echo` yet: the task stays queued.
    const { task_id } = await call(client, "dispatch_task", {
      title: "late",
      prompt: JSON.stringify({ job: "echo", input: "finally" }),
      capability: "late_echo",
    });
    const started = Date.now();
    const first = await call(client, "await_task", { task_id }); // default: the full 50 s
    const waited = Date.now() - started;
    expect(first).toMatchObject({ state: "still_running", task: { status: "queued" } });
    expect(waited).toBeGreaterThanOrEqual(45_000);
    expect(waited).toBeLessThan(60_000);
    startJobsWorker(mesh, "w-late", ["late_echo"]);
    const second = await call(client, "await_task", { task_id, timeout_s: 30 });
    expect(second).toMatchObject({ state: "finished", task: { status: "done", output: "finally" } });
  });

  test("progress notifications arrive while await_task runs; a subscribed task's resource update arrives", {
    timeout: 60_000,
  }, async () => {
    const mesh = await startTestMesh();
    const { client } = await connectStdio(mesh, MASTER);
    const { task_id } = await call(client, "dispatch_task", {
      title: "progress",
      prompt: JSON.stringify({ job: "echo", input: "streamed" }),
      capability: "progress_echo",
    });
    const uri = `m3shd://tasks/${task_id}`;
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    await client.subscribeResource({ uri });
    const progress: string[] = [];
    const waiting = client.callTool(
      { name: "await_task", arguments: { task_id, timeout_s: 40 } },
      undefined,
      {
        onprogress: (p) => {
          progress.push(p.message ?? "");
        },
      },
    );
    await until(() => progress.length > 0, 10_000, "first progress");
    startJobsWorker(mesh, "w-progress", ["progress_echo"]);
    const result = ok(await waiting);
    expect(result).toMatchObject({ state: "finished", task: { output: "streamed" } });
    // Every state change and chunk is reported in order; the in-memory tests pin the exact list.
    expect(progress[0]).toBe(`${task_id} is queued`);
    // The worker streams the job's output as a chunk before it completes: the chunk is reported,
    // and before the final state. (Progress is polled: an instant echo job may pass through
    // `running` between two polls, so the states in between are not pinned here.)
    expect(progress).toContain("streamed");
    expect(progress.indexOf("streamed")).toBeLessThan(progress.indexOf(`${task_id} is done`));
    expect(progress.at(-1)).toBe(`${task_id} is done`);
    await until(() => updates.includes(uri), 10_000, "resource update");
    const read = await client.readResource({ uri });
    const first = read.contents[0];
    expect(JSON.parse(first && "text" in first ? first.text : "{}").task.status).toBe("done");
  });
});
