import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { transitionTask, upsertAgent } from "@m3shd/db";
import {
  InvokeToolResponseSchema,
  type MeshEvent,
  PluginListResponseSchema,
  PluginResponseSchema,
} from "@m3shd/protocol";
import { pino } from "pino";
import { describe, expect, onTestFinished, test } from "vitest";
import type { PluginsConfig } from "../src/plugins/config";
import type { PluginModule } from "../src/plugins/manager";
import { MASTER, startTestHub, type TestHub } from "./security-fixture";

/**
 * Plugins against a real hub (SQLite, queues, memory service) over `app.request`: loading from a
 * directory (a plugin that throws at setup is skipped with a log line), the tool-call route's
 * refusals (stale attempt, disabled tool, capability, arguments, paths), the built-ins against
 * local fakes, hooks off the request path, and what a tool answers (no paths, no stacks).
 */

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Log lines the hub wrote, parsed. */
function captureLogs() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: "debug" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

/** A local SearXNG stand-in: `GET /search?q=…&format=json`, its JSON answer shape. */
async function fakeSearxng(options: { status?: number } = {}) {
  const queries: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname !== "/search" || url.searchParams.get("format") !== "json") {
      res.writeHead(404).end();
      return;
    }
    const q = url.searchParams.get("q") ?? "";
    queries.push(q);
    if (options.status) {
      res.writeHead(options.status, { "content-type": "text/html" }).end("<h1>down</h1>");
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        query: q,
        number_of_results: 2,
        results: [
          { url: "https://example.com/a", title: `About ${q}`, content: "First snippet", engine: "ddg" },
          { url: "https://example.com/b", title: "Second", content: "Second snippet", engine: "ddg" },
        ],
        answers: [],
        corrections: [],
        infoboxes: [],
        suggestions: [],
        unresponsive_engines: [],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, queries };
}

interface Setup {
  t: TestHub;
  lines: Record<string, unknown>[];
  /** A worker token scoped to `w1`. */
  token: string;
}

async function pluginHub(
  options: { plugins?: PluginsConfig; modules?: PluginModule[]; dbPath?: string } = {},
): Promise<Setup> {
  const { logger, lines } = captureLogs();
  const t = await startTestHub({
    logger,
    config: { plugins: options.plugins ?? {} },
    ...(options.modules ? { hubOptions: { plugins: options.modules } } : {}),
    ...(options.dbPath ? { dbPath: options.dbPath } : {}),
  });
  await t.hub.ready;
  const minted = await t.call("POST", "/api/tokens", {
    token: MASTER,
    body: { agent_id: "w1", role: "worker" },
  });
  upsertAgent(t.database.db, {
    id: "w1",
    name: "w1",
    capabilities: ["echo"],
    maxConcurrent: 8,
    now: t.clock.now,
  });
  upsertAgent(t.database.db, {
    id: "w2",
    name: "w2",
    capabilities: ["echo"],
    maxConcurrent: 8,
    now: t.clock.now,
  });
  return { t, lines, token: minted.body.token as string };
}

/** A task of `capability`, running on `agent` under attempt 1. */
async function runningTask(t: TestHub, capability = "echo", agent = "w1"): Promise<string> {
  const res = await t.call("POST", "/api/tasks", {
    token: MASTER,
    body: { title: "t", prompt: "p", required_capability: capability },
  });
  const id = res.body.task.id as string;
  const db = t.database.db;
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

function invoke(s: Setup, tool: string, task: string, args: unknown, attempt = 1, token = s.token) {
  return s.t.call("POST", `/api/plugins/${tool}/invoke`, { token, body: { task_id: task, attempt, args } });
}

/** Events published on the hub's bus from now on. */
function recordEvents(t: TestHub): MeshEvent[] {
  const seen: MeshEvent[] = [];
  const off = t.hub.ctx.queue.bus.subscribe((e) => seen.push(e as MeshEvent));
  onTestFinished(off);
  return seen;
}

describe("loading plugins from the directory", () => {
  test("a plugin that throws at setup is skipped with a log line; the rest load and the hub serves", async () => {
    const dir = tempDir("m3shd-plugins-");
    writeFileSync(
      join(dir, "good.mjs"),
      `export const description = "says hello";
       export function setup(m) {
         m.registerTool({ name: "hello", description: "greets", args: m.z.object({ who: m.z.string() }),
           handler: (a) => ({ greeting: "hello " + a.who }) });
         m.hook("task_created", () => {});
         m.declareCapability({ name: "greeter", description: "greets people", tools: ["hello"] });
       }`,
    );
    writeFileSync(
      join(dir, "broken.mjs"),
      `export function setup(m) {
         m.registerTool({ name: "half", description: "never visible", args: m.z.object({}), handler: () => 1 });
         throw new Error("boom at setup");
       }`,
    );
    writeFileSync(join(dir, "syntax.mjs"), "export function setup( {");
    writeFileSync(join(dir, "notes.txt"), "not a plugin");
    const s = await pluginHub({ plugins: { dir } });

    const failed = s.lines.find((l) => l.msg === "plugin failed at setup; skipped");
    expect(failed).toMatchObject({ level: 50, plugin: "broken", file: "broken.mjs" });
    expect(JSON.stringify(failed)).toContain("boom at setup");
    expect(s.lines.find((l) => l.msg === "plugin failed to load; skipped")).toMatchObject({
      plugin: "syntax",
      file: "syntax.mjs",
    });

    const listed = PluginListResponseSchema.parse(
      (await s.t.call("GET", "/api/plugins", { token: s.token })).body,
    );
    expect(listed.plugins.map((p) => [p.name, p.source, p.enabled])).toEqual([
      ["web_search", "builtin", true],
      ["file_summary", "builtin", true],
      ["notify", "builtin", true],
      ["memory_enhance", "builtin", true],
      ["good", "directory", true],
    ]);
    const good = listed.plugins.find((p) => p.name === "good");
    expect(good).toMatchObject({
      description: "says hello",
      hooks: ["task_created"],
      capabilities: [{ name: "greeter", description: "greets people", tools: ["hello"] }],
      tools: [{ name: "hello", description: "greets", capabilities: ["*"] }],
    });
    expect(good?.tools[0]?.args_schema).toMatchObject({
      type: "object",
      properties: { who: { type: "string" } },
    });
    // What the broken plugin registered before it threw was never committed.
    const task = await runningTask(s.t);
    expect((await invoke(s, "half", task, {})).status).toBe(404);
    const hello = InvokeToolResponseSchema.parse((await invoke(s, "hello", task, { who: "rex" })).body);
    expect(hello).toMatchObject({ ok: true, result: { greeting: "hello rex" } });
  });

  test("a world-writable plugins directory is refused as a whole", async () => {
    const dir = tempDir("m3shd-plugins-");
    writeFileSync(join(dir, "p.mjs"), 'export function setup(m) { m.hook("agent_online", () => {}); }');
    chmodSync(dir, 0o777);
    const s = await pluginHub({ plugins: { dir } });
    expect(
      s.lines.some((l) => l.msg === "plugins directory is world-writable; no plugin loaded from it"),
    ).toBe(true);
    const listed = (await s.t.call("GET", "/api/plugins", { token: s.token })).body;
    expect(listed.plugins.map((p: { name: string }) => p.name)).not.toContain("p");
  });
});

describe("invoking a tool", () => {
  test("web_search answers the backend's results and announces plugin_invoked", async () => {
    const searx = await fakeSearxng();
    const s = await pluginHub({ plugins: { webSearch: { url: searx.url } } });
    const task = await runningTask(s.t);
    const events = recordEvents(s.t);
    const res = await invoke(s, "web_search", task, { query: "storekit 2 pricing", max_results: 1 });
    expect(res.status).toBe(200);
    expect(InvokeToolResponseSchema.parse(res.body)).toMatchObject({
      tool: "web_search",
      ok: true,
      result: {
        query: "storekit 2 pricing",
        results: [
          { title: "About storekit 2 pricing", url: "https://example.com/a", snippet: "First snippet" },
        ],
      },
    });
    expect(searx.queries).toEqual(["storekit 2 pricing"]);
    expect(events.filter((e) => e.type === "plugin_invoked").map((e) => e.data)).toEqual([
      {
        tool: "web_search",
        plugin: "web_search",
        task_id: task,
        agent_id: "w1",
        attempt: 1,
        ok: true,
        error_code: null,
        duration_ms: expect.any(Number),
      },
    ]);
  });

  test("a backend that fails is ok: false (not a 503 a client would retry), and still announced", async () => {
    const searx = await fakeSearxng({ status: 502 });
    const s = await pluginHub({ plugins: { webSearch: { url: searx.url } } });
    const task = await runningTask(s.t);
    const events = recordEvents(s.t);
    const res = await invoke(s, "web_search", task, { query: "x" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      ok: false,
      error: { code: "unavailable", message: "The search backend answered 502" },
    });
    expect(events.find((e) => e.type === "plugin_invoked")?.data).toMatchObject({
      ok: false,
      error_code: "unavailable",
    });
    // Not configured at all: the same, naming the setting.
    const bare = await pluginHub();
    const other = await runningTask(bare.t);
    expect((await invoke(bare, "web_search", other, { query: "x" })).body.error.message).toMatch(
      /M3SHD_SEARXNG_URL/,
    );
  });

  test("refusals: stale attempt 409, task not running 409, another agent's task 403, bad arguments 422, unknown tool 404", async () => {
    const searx = await fakeSearxng();
    const s = await pluginHub({ plugins: { webSearch: { url: searx.url } } });
    const task = await runningTask(s.t);
    const stale = await invoke(s, "web_search", task, { query: "x" }, 2);
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe("stale_attempt");

    const theirs = await runningTask(s.t, "echo", "w2");
    const forbidden = await invoke(s, "web_search", theirs, { query: "x" });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.details).toEqual({ task_id: theirs });

    const bad = await invoke(s, "web_search", task, { query: "" });
    expect(bad.status).toBe(422);
    expect(bad.body.error.details.issues[0].path).toEqual(["query"]);
    expect((await invoke(s, "web_search", task, { query: "x", extra: 1 })).status).toBe(422);
    expect((await invoke(s, "no_such_tool", task, {})).status).toBe(404);

    await s.t.call("PUT", `/api/tasks/${task}`, {
      token: s.token,
      body: { status: "done", output: "ok", attempt: 1 },
    });
    const done = await invoke(s, "web_search", task, { query: "x" });
    expect(done.status).toBe(409);
    expect(done.body.error).toMatchObject({ code: "conflict", details: { status: "done" } });
    expect(searx.queries).toEqual([]);
  });

  test("a tool not allowed for the task's capability is 403; a capability declaration can grant it", async () => {
    const searx = await fakeSearxng();
    const grant: PluginModule = {
      name: "research-kit",
      setup(m) {
        m.declareCapability({ name: "research", description: "looks things up", tools: ["web_search"] });
      },
    };
    const s = await pluginHub({
      plugins: { webSearch: { url: searx.url }, toolCapabilities: { web_search: ["code"] } },
      modules: [grant],
    });
    const echo = await runningTask(s.t, "echo");
    const refused = await invoke(s, "web_search", echo, { query: "x" });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({
      code: "forbidden",
      details: { tool: "web_search", capability: "echo" },
    });
    expect((await invoke(s, "web_search", await runningTask(s.t, "code"), { query: "x" })).status).toBe(200);
    expect((await invoke(s, "web_search", await runningTask(s.t, "research"), { query: "x" })).status).toBe(
      200,
    );
    // The grant lapses with its plugin.
    await s.t.call("PUT", "/api/plugins/research-kit", { token: MASTER, body: { enabled: false } });
    expect((await invoke(s, "web_search", await runningTask(s.t, "research"), { query: "x" })).status).toBe(
      403,
    );
    expect(searx.queries).toEqual(["x", "x"]);
  });

  test("a disabled tool is refused (409) until enabled again; the state is admin:plugins and persisted", async () => {
    const searx = await fakeSearxng();
    const s = await pluginHub({ plugins: { webSearch: { url: searx.url } } });
    const task = await runningTask(s.t);
    // A worker may not toggle plugins.
    const denied = await s.t.call("PUT", "/api/plugins/web_search", {
      token: s.token,
      body: { enabled: false },
    });
    expect(denied.status).toBe(403);
    const off = await s.t.call("PUT", "/api/plugins/web_search", { token: MASTER, body: { enabled: false } });
    expect(PluginResponseSchema.parse(off.body).plugin).toMatchObject({ name: "web_search", enabled: false });
    const refused = await invoke(s, "web_search", task, { query: "x" });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: "conflict", details: { tool: "web_search" } });
    expect(searx.queries).toEqual([]);
    expect(
      (await s.t.call("PUT", "/api/plugins/nope", { token: MASTER, body: { enabled: false } })).status,
    ).toBe(404);

    // Another hub on the same database sees it disabled.
    const again = await pluginHub({
      plugins: { webSearch: { url: searx.url } },
      dbPath: join(s.t.dir, "hub.db"),
    });
    const listed = (await again.t.call("GET", "/api/plugins", { token: MASTER })).body;
    expect(listed.plugins.find((p: { name: string }) => p.name === "web_search").enabled).toBe(false);

    await s.t.call("PUT", "/api/plugins/web_search", { token: MASTER, body: { enabled: true } });
    expect((await invoke(s, "web_search", task, { query: "x" })).status).toBe(200);
  });
});

describe("file_summary", () => {
  function tree() {
    const base = tempDir("m3shd-files-");
    const root = join(base, "shared");
    mkdirSync(join(root, "docs"), { recursive: true });
    writeFileSync(join(root, "docs", "notes.md"), "# Notes\nline two\nline three\n");
    writeFileSync(join(base, "secret.txt"), "the master plan");
    writeFileSync(join(root, "big.txt"), "x".repeat(5000));
    writeFileSync(join(root, "bin.dat"), Buffer.from([1, 2, 0, 3]));
    symlinkSync(join(base, "secret.txt"), join(root, "escape.txt"));
    symlinkSync(base, join(root, "up"));
    symlinkSync(join(root, "docs", "notes.md"), join(root, "inside.md"));
    return { base, root };
  }

  test("reads a text file under the root and answers with its relative path only", async () => {
    const { base, root } = tree();
    const s = await pluginHub({ plugins: { fileSummary: { root, maxBytes: 4096 } } });
    const task = await runningTask(s.t);
    const res = await invoke(s, "file_summary", task, { path: "docs/notes.md" });
    expect(res.body).toMatchObject({
      ok: true,
      result: {
        path: "docs/notes.md",
        bytes: 28,
        lines: 3,
        words: 6,
        excerpt: "# Notes\nline two\nline three\n",
      },
    });
    // A symlink that stays inside the root is followed, and named by where it leads.
    expect((await invoke(s, "file_summary", task, { path: "inside.md" })).body.result.path).toBe(
      "docs/notes.md",
    );
    expect(JSON.stringify(res.body)).not.toContain(base);
  });

  test("path traversal, absolute paths and symlink escapes are refused (403) without reading", async () => {
    const { base, root } = tree();
    const s = await pluginHub({ plugins: { fileSummary: { root, maxBytes: 4096 } } });
    const task = await runningTask(s.t);
    for (const path of [
      "../secret.txt",
      "docs/../../secret.txt",
      join(base, "secret.txt"),
      "escape.txt",
      "up/secret.txt",
    ]) {
      const res = await invoke(s, "file_summary", task, { path });
      expect(res.status, path).toBe(403);
      expect(res.body.error.message, path).toBe("The path is outside the directory file_summary may read");
      expect(res.text, path).not.toContain("master plan");
      expect(res.text, path).not.toContain(base);
    }
    const missing = await invoke(s, "file_summary", task, { path: "docs/none.md" });
    expect([missing.status, missing.body.error.message]).toEqual([404, "No such file"]);
    const big = await invoke(s, "file_summary", task, { path: "big.txt" });
    expect(big.status).toBe(413);
    expect((await invoke(s, "file_summary", task, { path: "bin.dat" })).status).toBe(422);
    expect((await invoke(s, "file_summary", task, { path: "docs" })).status).toBe(422);
  });
});

describe("notify and memory_enhance", () => {
  test("notify posts to the hub's ntfy, saying which agent sent it", async () => {
    const received: Record<string, unknown>[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString("utf8");
      });
      req.on("end", () => {
        received.push({ path: req.url, auth: req.headers.authorization, ...JSON.parse(body) });
        res.writeHead(200, { "content-type": "application/json" }).end('{"id":"x"}\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { logger, lines } = captureLogs();
    const t = await startTestHub({
      logger,
      config: { workflows: { ntfy: { url, topic: "ops", token: "tk_test" } } },
    });
    await t.hub.ready;
    const minted = await t.call("POST", "/api/tokens", {
      token: MASTER,
      body: { agent_id: "w1", role: "worker" },
    });
    upsertAgent(t.database.db, {
      id: "w1",
      name: "w1",
      capabilities: ["echo"],
      maxConcurrent: 8,
      now: t.clock.now,
    });
    const s: Setup = { t, lines, token: minted.body.token };
    const task = await runningTask(t);
    const res = await invoke(s, "notify", task, { message: "build is green", title: "CI", priority: 4 });
    expect(res.body).toMatchObject({ ok: true, result: { delivered: true } });
    expect(received).toEqual([
      {
        path: "/",
        auth: "Bearer tk_test",
        topic: "ops",
        title: "CI (from w1)",
        message: "build is green",
        priority: 4,
        tags: ["agent-w1"],
      },
    ]);
  });

  test("memory_enhance searches the calling agent's memories only", async () => {
    const s = await pluginHub();
    for (const [agent, value] of [
      ["w1", "deploy target is blue"],
      ["w2", "deploy target is green"],
    ]) {
      const stored = await s.t.call("POST", `/api/agents/${agent}/memory`, {
        token: MASTER,
        body: { key: "deploy target", value },
      });
      expect(stored.status).toBe(201);
    }
    const task = await runningTask(s.t);
    const res = await invoke(s, "memory_enhance", task, { query: "deploy target" });
    expect(res.body).toMatchObject({
      ok: true,
      result: { results: [{ key: "deploy target", value: "deploy target is blue" }] },
    });
    expect(res.body.result.results).toHaveLength(1);
    // No argument names another agent.
    expect((await invoke(s, "memory_enhance", task, { query: "x", agent_id: "w2" })).status).toBe(422);
  });
});

describe("what a tool answers", () => {
  test("no stack traces and no hub paths, whatever the plugin throws or returns; slow tools time out", async () => {
    const dataDir = tempDir("m3shd-data-");
    const leaky: PluginModule = {
      name: "leaky",
      setup(m) {
        m.registerTool({
          name: "crash",
          description: "throws",
          args: m.z.object({}),
          handler: () => {
            throw new Error(`ENOENT: no such file or directory, open '${dataDir}/m3shd.db'`);
          },
        });
        m.registerTool({
          name: "tell",
          description: "a deliberate refusal mentioning a path",
          args: m.z.object({}),
          handler: () => {
            throw new m.ToolError("not_found", `nothing in ${dataDir}/inbox`);
          },
        });
        m.registerTool({
          name: "where",
          description: "returns paths",
          args: m.z.object({}),
          handler: () => ({ db: `${dataDir}/m3shd.db`, trace: new Error("x").stack, cwd: process.cwd() }),
        });
        m.registerTool({
          name: "slow",
          description: "never answers",
          args: m.z.object({}),
          handler: (_a, call) => new Promise((resolve) => call.signal.addEventListener("abort", resolve)),
        });
      },
    };
    // The (empty) plugins directory is one of the hub's paths a tool must not reveal.
    const s = await pluginHub({ plugins: { dir: dataDir, toolTimeoutMs: 200 }, modules: [leaky] });
    const task = await runningTask(s.t);
    const crash = await invoke(s, "crash", task, {});
    expect(crash.status).toBe(200);
    expect(crash.body).toMatchObject({
      ok: false,
      error: { code: "internal", message: "Tool crash failed" },
    });
    // The whole story is in the hub's log, for the operator.
    expect(JSON.stringify(s.lines.find((l) => l.msg === "tool failed"))).toContain("ENOENT");

    const tell = await invoke(s, "tell", task, {});
    expect(tell.status).toBe(404);
    expect(tell.body.error.message).toBe("nothing in <hidden>/inbox");

    const where = await invoke(s, "where", task, {});
    expect(where.status).toBe(200);
    expect(where.text).not.toContain(dataDir);
    expect(where.text).not.toContain(process.cwd());
    expect(where.text).not.toMatch(/\bat .*:\d+:\d+/);
    expect(where.body.result.cwd).toBe("<hidden>");

    const slow = await invoke(s, "slow", task, {});
    expect(slow.body).toMatchObject({
      ok: false,
      error: { code: "unavailable", message: "Tool slow timed out after 200 ms" },
    });
  });
});

describe("hooks", () => {
  test("run off the request path: one that throws or hangs is logged and changes nothing", async () => {
    const seen: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const hooks: PluginModule = {
      name: "hooks",
      setup(m) {
        m.hook("task_created", () => {
          throw new Error("hook exploded");
        });
        m.hook("task_created", () => gate);
        m.hook("task_created", (data) => {
          seen.push(data.task.id);
        });
        m.hook("agent_online", (data) => {
          seen.push(`online:${data.agent.id}`);
        });
      },
    };
    const s = await pluginHub({ plugins: { hookTimeoutMs: 1500 }, modules: [hooks] });
    const res = await s.t.call("POST", "/api/tasks", {
      token: MASTER,
      body: { title: "t", prompt: "p", required_capability: "echo" },
    });
    expect(res.status).toBe(201);
    // The request did not wait for the hanging hook: it answered before the hook's timeout fired.
    expect(s.lines.some((l) => l.msg === "plugin hook timed out")).toBe(false);
    await expect.poll(() => seen).toEqual([res.body.task.id]);
    await expect
      .poll(() => s.lines.filter((l) => l.msg === "plugin hook timed out").length, { timeout: 5000 })
      .toBe(1);
    expect(s.lines.find((l) => l.msg === "plugin hook failed")).toMatchObject({
      plugin: "hooks",
      event: "task_created",
    });
    release();
    await s.t.call("POST", "/api/agents/w1/register", {
      token: s.token,
      body: { capabilities: ["echo"], max_concurrent: 1 },
    });
    await expect.poll(() => seen).toContain("online:w1");

    // A disabled plugin's hooks stop running.
    await s.t.call("PUT", "/api/plugins/hooks", { token: MASTER, body: { enabled: false } });
    const second = await s.t.call("POST", "/api/tasks", {
      token: MASTER,
      body: { title: "t", prompt: "p", required_capability: "echo" },
    });
    await s.t.hub.plugins.idle();
    await new Promise((r) => setTimeout(r, 50));
    expect(seen).not.toContain(second.body.task.id);
  });
});
