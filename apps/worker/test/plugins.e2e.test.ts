import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { MeshEvent } from "@m3shd/protocol";
import { type FakeProviderServer, startFakeProviderServer } from "@m3shd/providers/fake-server";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { spawnWorker, testMesh, WORKER_ENV, workerArgs } from "./helpers";

/**
 * Tool calls end to end: a mesh whose hub loads a plugins directory (one plugin throws at setup),
 * a real `m3shd-worker` process, the fake model server and a local fake SearXNG. The model's first
 * answer asks for a tool; the worker invokes it on the hub and the model's next prompt carries the
 * result (the fake model checks it); the task completes with the last answer.
 */

const MARKER = "SEARX-RESULT-7f3a";

/** Prompts the fake model was given, and whether it saw what it needed. */
const seen: string[] = [];

/** The scripted model: the first call of each task asks for a tool, the next answers from the result. */
function reply(prompt: string): string {
  seen.push(prompt);
  if (prompt.includes("[TOOL_RESULT web_search]")) {
    // The fake backend's result must be in this second prompt; otherwise say so (the test fails).
    return prompt.includes(MARKER)
      ? `FINAL: the search said ${MARKER}`
      : "FINAL: no search result in my prompt";
  }
  if (prompt.includes("[TOOL_RESULT file_summary]")) {
    const refused = (prompt.match(/"code":"forbidden"/g) ?? []).length;
    return `FINAL: ${refused} file reads refused`;
  }
  if (prompt.includes("SEARCH:")) {
    return `Searching. [TOOL_CALL] {"tool": "web_search", "args": {"query": "storekit 2 pricing"}} [/TOOL_CALL]`;
  }
  if (prompt.includes("ESCAPE:")) {
    return [
      '[TOOL_CALL] {"tool": "file_summary", "args": {"path": "../secret.txt"}} [/TOOL_CALL]',
      '[TOOL_CALL] {"tool": "file_summary", "args": {"path": "escape.txt"}} [/TOOL_CALL]',
    ].join("\n");
  }
  return "FINAL: nothing to do";
}

let fake: FakeProviderServer;
beforeAll(async () => {
  fake = await startFakeProviderServer({
    apiKeys: ["no-key-required"],
    defaultReply: (req) => ({ kind: "reply", text: reply(req.prompt) }),
  });
});
afterAll(async () => {
  await fake.close();
});

async function fakeSearxng() {
  const queries: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    queries.push(url.searchParams.get("q") ?? "");
    res.writeHead(200, { "content-type": "application/json" });
    res.end(
      JSON.stringify({
        query: url.searchParams.get("q"),
        results: [{ url: "https://example.com/pricing", title: "StoreKit 2 pricing", content: MARKER }],
        answers: [],
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

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("tool calls through a real worker", () => {
  it("web_search results reach the next model call; escapes are refused; a disabled tool is refused; a plugin that throws at setup is skipped", async () => {
    const searx = await fakeSearxng();
    const plugins = tempDir("m3shd-e2e-plugins-");
    writeFileSync(
      join(plugins, "broken.mjs"),
      'export function setup() { throw new Error("broken on purpose"); }',
    );
    const files = tempDir("m3shd-e2e-files-");
    const root = join(files, "shared");
    mkdirSync(root);
    writeFileSync(join(files, "secret.txt"), "top secret");
    symlinkSync(join(files, "secret.txt"), join(root, "escape.txt"));

    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const t = await testMesh("embedded", {
      logger,
      hub: { plugins: { dir: plugins, webSearch: { url: searx.url }, fileSummary: { root } } },
    });
    const skipped = lines.find((l) => l.msg === "plugin failed at setup; skipped");
    expect(skipped).toMatchObject({ plugin: "broken", file: "broken.mjs" });
    expect(JSON.stringify(skipped)).toContain("broken on purpose");

    const events: MeshEvent[] = [];
    t.mesh.hub.ctx.queue.bus.subscribe((e) => events.push(e as MeshEvent));
    const worker = spawnWorker(
      workerArgs(t, "w-tools", [
        "--capabilities",
        "research",
        "--provider",
        "openai-compatible",
        "--model",
        "llama3.2",
        "--base-url",
        fake.openaiBaseURL,
        "--tool-catalog",
      ]),
      WORKER_ENV,
    );
    await worker.waitForLog("registered with the hub");

    // 1. web_search: the second prompt carries the fake backend's result; the last answer is the output.
    const search = await t.api.createTask({
      prompt: "SEARCH: StoreKit 2 pricing",
      required_capability: "research",
    });
    const done = await t.api.waitForTask(search.id, undefined, 60_000);
    expect(done.status).toBe("done");
    expect(done.output).toBe(`FINAL: the search said ${MARKER}`);
    expect(searx.queries).toEqual(["storekit 2 pricing"]);
    const second = seen.find((p) => p.includes("SEARCH:") && p.includes("[TOOL_RESULT web_search]"));
    expect(second).toContain(MARKER);
    expect(second).toContain("=== Tool round 1 ===");
    expect(second).toContain("(2 tool rounds left)");
    expect(events.find((e) => e.type === "plugin_invoked")?.data).toMatchObject({
      tool: "web_search",
      task_id: search.id,
      agent_id: "w-tools",
      ok: true,
    });
    await worker.waitForLog((l) => l.msg === "tool called" && l.tool === "web_search");
    // --tool-catalog: the model was told its tools and the call format in the system prompt.
    const system = fake.requests
      .map((r) => (r.body as { messages?: { role: string; content: string }[] }).messages?.[0])
      .find((m) => m?.role === "system");
    expect(system?.content).toContain('[TOOL_CALL] {"tool": "<name>", "args": {...}} [/TOOL_CALL]');
    expect(system?.content).toContain("- web_search:");
    expect(system?.content).toContain("- file_summary:");

    // 2. file_summary: a path traversal and a symlink escape are refused; the model is told so.
    const traversal = await t.api.createTask({
      prompt: "ESCAPE: read the secret",
      required_capability: "research",
    });
    const escaped = await t.api.waitForTask(traversal.id, undefined, 60_000);
    expect(escaped.output).toBe("FINAL: 2 file reads refused");
    const told = seen.find((p) => p.includes("ESCAPE:") && p.includes("[TOOL_RESULT file_summary]"));
    expect(told).not.toContain("top secret");
    expect(told).not.toContain(files);
    expect(told).toContain("The path is outside the directory file_summary may read");

    // 3. A disabled tool is refused; the model reads why and the task still completes.
    expect((await t.api.call("PUT", "/api/plugins/web_search", { enabled: false })).status).toBe(200);
    const off = await t.api.createTask({ prompt: "SEARCH: again", required_capability: "research" });
    const offDone = await t.api.waitForTask(off.id, undefined, 60_000);
    expect(offDone.status).toBe("done");
    expect(offDone.output).toBe("FINAL: no search result in my prompt");
    const refusedPrompt = seen.find(
      (p) => p.includes("SEARCH: again") && p.includes("[TOOL_RESULT web_search]"),
    );
    expect(refusedPrompt).toContain('"code":"conflict"');
    expect(refusedPrompt).toContain("Tool web_search is disabled");
    expect(searx.queries).toHaveLength(1);
  }, 120_000);
});
