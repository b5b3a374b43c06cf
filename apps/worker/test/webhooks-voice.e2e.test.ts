import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createProvider } from "@m3shd/providers";
import { type FakeProviderServer, startFakeProviderServer } from "@m3shd/providers/fake-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MASTER, spawnWorker, testMesh, until, WORKER_ENV, workerArgs } from "./helpers";

/**
 * Issue 19's inbound webhooks, voice dispatch and mesh control against a real hub with real
 * worker processes whose model is the fake provider server (which speaks Anthropic's wire format);
 * mesh control's interpreter is a real provider adapter pointed at the same fake server.
 */
// The hub's copies of the shared vectors (apps/hub/test/fixtures/webhooks/SOURCES.md).
const FIXTURES = fileURLToPath(new URL("../../hub/test/fixtures/webhooks/", import.meta.url));
const push = JSON.parse(readFileSync(`${FIXTURES}push-event.json`, "utf8")) as {
  secret: string;
  request: { headers: Record<string, string>; raw_body: string };
};
const kumaDown = readFileSync(`${FIXTURES}uptime-kuma-down.json`, "utf8");

let fake: FakeProviderServer;
beforeAll(async () => {
  fake = await startFakeProviderServer({
    defaultReply: (req) => ({ kind: "reply", text: `re: ${req.prompt}` }),
  });
});
afterAll(async () => {
  await fake.close();
});

const ENV = { ...WORKER_ENV, ANTHROPIC_API_KEY: "sk-ant-e2e" };
const worker = (url: string, id: string, capabilities: string) =>
  spawnWorker(
    workerArgs({ url }, id, [
      "--capabilities",
      capabilities,
      "--provider",
      "anthropic",
      "--model",
      `m-${id}`,
      "--base-url",
      fake.url,
    ]),
    ENV,
  );

async function call<T>(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${MASTER}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

describe("webhooks and voice with real workers", () => {
  it("a signed GitHub push, an Uptime Kuma down and a spoken request each become a task a worker completes", async () => {
    const t = await testMesh("embedded");
    const w = worker(t.url, "w-research", "research");
    await w.waitForLog("registered with the hub");
    const templates = await call<{ templates: { id: string; name: string }[] }>(
      t.url,
      "GET",
      "/api/templates",
    );
    const research = templates.body.templates.find((x) => x.name === "Research")?.id;

    const gh = await call<{ webhook: { url_path: string } }>(t.url, "POST", "/api/admin/webhooks", {
      name: "gh",
      kind: "github",
      events: ["push"],
      secret: push.secret,
      action: { type: "template", template_id: research, variables: { topic: "repository.full_name" } },
    });
    expect(gh.status).toBe(201);
    const delivered = await fetch(`${t.url}${gh.body.webhook.url_path}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "push",
        "x-github-delivery": push.request.headers["X-GitHub-Delivery"] as string,
        "x-hub-signature-256": push.request.headers["X-Hub-Signature-256"] as string,
      },
      body: push.request.raw_body,
    });
    expect(delivered.status).toBe(202);
    const ghTask = ((await delivered.json()) as { task_id: string }).task_id;

    const kuma = await call<{ webhook: { url_path: string }; secret: string }>(
      t.url,
      "POST",
      "/api/admin/webhooks",
      {
        name: "kuma",
        kind: "uptime-kuma",
        events: ["down"],
        action: {
          type: "task",
          title: "Outage",
          prompt_template: "{monitor.name} is down: {heartbeat.msg}",
          required_capability: "research",
        },
      },
    );
    const down = await fetch(`${t.url}${kuma.body.webhook.url_path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-webhook-secret": kuma.body.secret },
      body: kumaDown,
    });
    expect(down.status).toBe(202);
    const kumaTask = ((await down.json()) as { task_id: string }).task_id;

    const voice = await call<{ task: { id: string }; reply: string; variables: Record<string, string> }>(
      t.url,
      "POST",
      "/api/voice/dispatch",
      { text: "research StoreKit 2 pricing" },
    );
    expect(voice.status).toBe(201);
    expect(voice.body.variables).toEqual({ topic: "StoreKit 2 pricing" });
    expect(voice.body.reply).toBe("Dispatched Research: StoreKit 2 pricing.");

    const ghDone = await t.api.waitForTask(ghTask, "done");
    expect(ghDone.output).toContain("re: Research Codertocat/Hello-World.");
    const kumaDone = await t.api.waitForTask(kumaTask, "done");
    expect(kumaDone.output).toBe("re: Test is down: getaddrinfo ENOTFOUND test.com");
    const voiceDone = await t.api.waitForTask(voice.body.task.id, "done");
    expect(voiceDone.output).toContain("re: Research StoreKit 2 pricing.");
  }, 90_000);
});

describe("mesh control with real workers and a model interpreter", () => {
  it("a phrase only the model understands becomes an operation; applied, the dispatcher follows it", async () => {
    const interpreter = createProvider({
      kind: "anthropic",
      apiKey: "sk-ant-interp",
      baseURL: fake.url,
      model: "interpreter",
      retry: { maxAttempts: 1 },
    });
    const t = await testMesh("embedded", { hub: { interpreter } });
    const rex = worker(t.url, "w-rex", "research,code_review");
    const other = worker(t.url, "w-other", "research");
    await Promise.all([
      rex.waitForLog("registered with the hub"),
      other.waitForLog("registered with the hub"),
    ]);
    type Control = {
      operation: Record<string, unknown>;
      interpreted_by: string;
      applied: boolean;
      summary: string;
    };

    // The deterministic parser does not know this phrasing; the model answers with one operation.
    fake.enqueue(
      {
        kind: "reply",
        text: '{"op":"restrict_capabilities","agent":"w-rex","capabilities":["code_review"]}',
      },
      { model: "interpreter" },
    );
    const dry = await call<Control>(t.url, "POST", "/api/mesh/control", {
      text: "from now on w-rex should only ever look at code reviews",
    });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({
      interpreted_by: "model",
      applied: false,
      operation: { op: "restrict_capabilities", agent: "w-rex", capabilities: ["code_review"] },
    });
    const applied = await call<Control>(t.url, "POST", "/api/mesh/control", {
      operation: dry.body.operation,
      dry_run: false,
    });
    expect(applied.body.applied).toBe(true);

    // Research work now goes only to w-other; code review to w-rex.
    for (let i = 0; i < 4; i++) {
      const task = await t.api.createTask({ prompt: `research ${i}`, required_capability: "research" });
      expect((await t.api.waitForTask(task.id, "done")).assigned_to).toBe("w-other");
    }
    const review = await t.api.createTask({ prompt: "review", required_capability: "code_review" });
    expect((await t.api.waitForTask(review.id, "done")).assigned_to).toBe("w-rex");

    // Maintenance (the parser's phrasing): no new work until it ends.
    await call(t.url, "POST", "/api/mesh/control", {
      operation: { op: "set_maintenance", agent: "w-rex", maintenance: true },
      dry_run: false,
    });
    const held = await t.api.createTask({ prompt: "review 2", required_capability: "code_review" });
    const passes = t.mesh.dispatcher.stats().passes;
    await until(() => t.mesh.dispatcher.stats().passes > passes + 1, 10_000, "a dispatch pass");
    expect((await t.api.task(held.id)).status).toBe("queued");
    const back = await call<Control>(t.url, "POST", "/api/mesh/control", { text: "bring w-rex back" });
    expect(back.body.operation).toEqual({ op: "set_maintenance", agent: "w-rex", maintenance: false });
    await call(t.url, "POST", "/api/mesh/control", { operation: back.body.operation, dry_run: false });
    expect((await t.api.waitForTask(held.id, "done")).assigned_to).toBe("w-rex");

    // The model proposing something outside the closed set is refused, with what is supported.
    fake.enqueue({ kind: "reply", text: '{"op":"drop_all_tasks"}' }, { model: "interpreter" });
    const refused = await call<{ error: { message: string } }>(t.url, "POST", "/api/mesh/control", {
      text: "wipe everything clean",
    });
    expect(refused.status).toBe(422);
    expect(refused.body.error.message).toContain("Supported:");
    // And the monitoring question.
    const count = await call<{ count: number }>(t.url, "POST", "/api/mesh/control", {
      text: "how many tasks has w-rex completed this week",
    });
    expect(count.body.count).toBe(2);
  }, 120_000);
});
