import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HUB_ROUTES } from "@m3shd/protocol";
import { describe, expect, it, onTestFinished } from "vitest";
import { contractHits } from "./contract";
import { type Api, sse, testMesh } from "./helpers";

/**
 * Every hub route, called over real HTTP against a running mesh, answers as its descriptor
 * declares: each response below goes through `Api.call`, which parses it with the schema the
 * route's descriptor declares for that status (and fails the test otherwise). At the end the set
 * of route ids reached must be all of `HUB_ROUTES` — a route added without an integration call
 * here fails this test.
 */

const task = (extra: Record<string, unknown> = {}) => ({
  title: "contract",
  prompt: "p",
  required_capability: "echo",
  ...extra,
});

async function ok<T = Record<string, unknown>>(
  api: Api,
  method: string,
  path: string,
  status: number,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ body: T; headers: Headers }> {
  const res = await api.call<T>(method, path, body, headers);
  expect(res.status, `${method} ${path}: ${JSON.stringify(res.body).slice(0, 300)}`).toBe(status);
  return res;
}

/** The same client without credentials (public routes authenticate themselves). */
const anonymous0 = (api: Api) => api.as(null);

describe("route contract over HTTP", () => {
  it("every hub route answers with its declared schema", async () => {
    const mesh = await testMesh("embedded");
    const { api } = mesh;
    const as = (agent: string) => ({ "x-m3shd-agent": agent });

    // Health, metrics and docs.
    await ok(api.as(null), "GET", "/api/health", 200);
    await ok(api.as(null), "GET", "/metrics", 401);
    await ok(api.as(null), "GET", "/api/openapi.json", 200);
    await ok(api.as(null), "GET", "/docs", 200);
    await ok(api.as(null), "GET", "/docs/assets/init.js", 200);

    // The worker contract and the task lifecycle.
    await ok(api, "POST", "/api/agents/contract-a/register", 200, {
      capabilities: ["echo"],
      max_concurrent: 4,
    });
    await ok(api, "POST", "/api/agents/contract-a/heartbeat", 200, { active_tasks: 0 });
    await ok(api, "GET", "/api/agents", 200);
    await ok(api, "GET", "/api/agents/contract-a", 200);
    const done = (await ok<{ task: { id: string } }>(api, "POST", "/api/tasks", 201, task())).body.task.id;
    const claim = await api.claim("contract-a", 5);
    expect(claim?.task.id).toBe(done);
    const attempt = claim?.attempt;
    await ok(api, "POST", `/api/tasks/${done}/stream`, 200, { content: "chunk", attempt }, as("contract-a"));
    await ok(api, "GET", `/api/tasks/${done}/chunks`, 200);
    const signed = { status: "done", output: "signed", attempt };
    await ok(api, "PUT", `/api/tasks/${done}`, 200, signed, as("contract-a"));
    // A write from a stale attempt is the 409 envelope (declared by the route).
    const stale = { status: "done", output: "again", attempt: 99 };
    await ok(api, "PUT", `/api/tasks/${done}`, 409, stale, as("contract-a"));
    await ok(api, "GET", `/api/tasks/${done}`, 200);
    await ok(api, "GET", "/api/tasks?limit=5", 200);
    await ok(api, "GET", `/api/tasks/${done}/provenance`, 200);
    await ok(api, "GET", "/api/provenance/root", 200);
    await ok(api, "GET", "/api/provenance/consistency?from=1&to=1", 200);
    // Plugins: the catalogue, an admin's toggle, and a tool call for a running task (fenced).
    await ok(api, "GET", "/api/plugins", 200);
    await ok(api, "PUT", "/api/plugins/notify", 200, { enabled: true });
    const tooled = (await ok<{ task: { id: string } }>(api, "POST", "/api/tasks", 201, task())).body.task.id;
    const tooledClaim = await api.claim("contract-a", 5);
    expect(tooledClaim?.task.id).toBe(tooled);
    const call = { task_id: tooled, attempt: tooledClaim?.attempt, args: { query: "deploy" } };
    await ok(api, "POST", "/api/plugins/memory_enhance/invoke", 200, call, as("contract-a"));
    await ok(
      api,
      "POST",
      "/api/plugins/memory_enhance/invoke",
      409,
      { ...call, attempt: 99 },
      as("contract-a"),
    );
    const used = { status: "done", output: "used a tool", attempt: tooledClaim?.attempt };
    await ok(api, "PUT", `/api/tasks/${tooled}`, 200, used, as("contract-a"));

    // Contribution: receipts, the ledger, node keys (bind by registering with a key, rotate,
    // approve is 409 for an active key, revoke).
    await ok(api, "GET", `/api/tasks/${done}/receipt`, 200);
    await ok(api, "GET", "/api/ledger?node=contract-a", 200);
    await ok(api, "GET", "/api/ledger/summary", 200);
    const { generateNodeIdentity } = await import("@m3shd/crypto");
    const first = generateNodeIdentity("contract-k");
    await ok(api, "POST", "/api/agents/contract-k/register", 200, {
      capabilities: ["echo"],
      max_concurrent: 1,
      public_key: first.public_key,
    });
    await ok(api, "GET", "/api/agents/contract-k/keys", 200);
    const second = generateNodeIdentity("contract-k");
    await ok(api, "POST", "/api/agents/contract-k/keys", 201, { public_key: second.public_key });
    await ok(api, "POST", `/api/agents/contract-k/keys/${second.key_id}/approve`, 409);
    await ok(api, "POST", `/api/agents/contract-k/keys/${second.key_id}/revoke`, 200, { reason: "contract" });
    const handed = (await ok<{ task: { id: string } }>(api, "POST", "/api/tasks", 201, task())).body.task.id;
    const handedClaim = await api.claim("contract-a", 5);
    expect(handedClaim?.task.id).toBe(handed);
    const handoff = { partial_output: "half", attempt: handedClaim?.attempt };
    await ok(api, "POST", `/api/tasks/${handed}/handoff`, 201, handoff, as("contract-a"));
    // Nobody has this capability: the task stays queued, so it can be cancelled or given parents.
    const parked = (
      await ok<{ task: { id: string } }>(
        api,
        "POST",
        "/api/tasks",
        201,
        task({ required_capability: "nobody" }),
      )
    ).body.task.id;
    await ok(api, "POST", `/api/tasks/${parked}/dependencies`, 200, { depends_on: [done] });
    await ok(api, "POST", `/api/tasks/${parked}/cancel`, 200, { reason: "contract" });
    // An empty long-poll is a 204 (an agent with nothing to do: the handoff's continuation went to contract-a).
    await ok(api, "POST", "/api/agents/contract-idle/register", 200, {
      capabilities: ["idle"],
      max_concurrent: 1,
    });
    await ok(api, "GET", "/api/agents/contract-idle/tasks/next?wait=0", 204);

    // The event stream (status and media type checked; every event parsed with MeshEventSchema).
    const stream = await sse(mesh.url, mesh.masterToken);
    expect(stream.status).toBe(200);
    stream.close();

    // Pipelines and templates.
    const pipeline = (
      await ok<{ pipeline_id: string }>(api, "POST", "/api/pipelines", 201, {
        steps: [task({ required_capability: "nobody" })],
      })
    ).body.pipeline_id;
    await ok(api, "GET", `/api/pipelines/${pipeline}`, 200);
    await ok(api, "GET", "/api/templates", 200);
    const tpl = (
      await ok<{ template: { id: string } }>(api, "POST", "/api/templates", 201, {
        name: "contract-template",
        prompt_template: "Do {x}",
        capability: "nobody",
      })
    ).body.template.id;
    await ok(api, "GET", `/api/templates/${tpl}`, 200);
    await ok(api, "PUT", `/api/templates/${tpl}`, 200, { priority: 7 });
    await ok(api, "POST", `/api/templates/${tpl}/dispatch`, 201, { variables: { x: "it" } });
    await ok(api, "DELETE", `/api/templates/${tpl}`, 200);

    // Shared context and messages.
    await ok(api, "PUT", "/api/context/contract.key", 200, { value: { n: 1 } });
    await ok(api, "GET", "/api/context", 200);
    await ok(api, "GET", "/api/context/contract.key", 200);
    await ok(api, "DELETE", "/api/context/contract.key", 200);
    await ok(api, "POST", "/api/messages", 201, { content: "hi" });
    await ok(api, "GET", "/api/messages?limit=5", 200);

    // Approvals (an agent asks, the operator decides).
    const approval = (
      await ok<{ approval: { id: string } }>(
        api,
        "POST",
        "/api/approvals",
        201,
        { action: "deploy" },
        as("contract-a"),
      )
    ).body.approval.id;
    await ok(api, "GET", "/api/approvals?status=pending", 200);
    await ok(api, "GET", `/api/approvals/${approval}`, 200);
    await ok(api, "PUT", `/api/approvals/${approval}`, 200, { decision: "approved" });

    // Escalations: three failures in a row open one.
    await ok(api, "POST", "/api/agents/contract-f/register", 200, {
      capabilities: ["flaky"],
      max_concurrent: 1,
    });
    const flaky = await api.createTask({ required_capability: "flaky", max_attempts: 10 });
    for (let i = 0; i < 3; i++) {
      expect((await api.next("contract-f", 5))?.id).toBe(flaky.id);
      expect((await api.fail("contract-f", flaky.id, `boom ${i}`)).status).toBe(200);
    }
    const escalations = (await ok<{ escalations: { id: string }[] }>(api, "GET", "/api/escalations", 200))
      .body;
    const escalation = escalations.escalations[0]?.id;
    expect(escalation).toBeDefined();
    await ok(api, "GET", `/api/escalations/${escalation}`, 200);
    await ok(api, "PUT", `/api/escalations/${escalation}`, 200, { resolution: "looked at it" });

    // Agent settings and analytics.
    await ok(api, "GET", "/api/agents/contract-a/settings", 200);
    await ok(api, "PUT", "/api/agents/contract-a/settings", 200, { daily_token_cap: 1_000_000 });
    for (const view of ["tasks", "costs", "agents", "summary"]) {
      await ok(api, "GET", `/api/admin/analytics/${view}?days=2`, 200);
    }

    // Memory, through the hub to the memory service.
    await ok(api, "POST", "/api/agents/contract-a/memory", 201, { key: "deploy target", value: "blue" });
    await ok(api, "POST", "/api/agents/contract-a/memory", 200, { key: "deploy target", value: "green" });
    await ok(api, "GET", "/api/agents/contract-a/memory", 200);
    await ok(api, "GET", "/api/agents/contract-a/memory/search?q=deploy", 200);
    await ok(api, "GET", "/api/memory/search?q=deploy", 200);
    await ok(api, "POST", "/api/memory/consolidate", 200, { agent_id: "contract-a" });
    await ok(api, "DELETE", `/api/agents/contract-a/memory/${encodeURIComponent("deploy target")}`, 200);

    // Inbound webhooks, voice dispatch and mesh control.
    const hook = (
      await ok<{ webhook: { id: string; url_path: string }; secret: string }>(
        api,
        "POST",
        "/api/admin/webhooks",
        201,
        {
          name: "contract",
          kind: "generic",
          action: {
            type: "task",
            title: "hook",
            prompt_template: '{"job":"echo","input":"{n}"}',
            required_capability: "echo",
          },
        },
      )
    ).body;
    await ok(api, "GET", "/api/admin/webhooks", 200);
    await ok(
      anonymous0(api),
      "POST",
      hook.webhook.url_path,
      202,
      { n: 1 },
      { "x-webhook-secret": hook.secret },
    );
    await ok(
      anonymous0(api),
      "POST",
      hook.webhook.url_path,
      401,
      { n: 1 },
      { "x-webhook-secret": "wrong-secret-1234" },
    );
    await ok(api, "GET", `/api/admin/webhooks/${hook.webhook.id}/deliveries`, 200);
    await ok(api, "DELETE", `/api/admin/webhooks/${hook.webhook.id}`, 200);
    await ok(api, "POST", "/api/voice/dispatch", 200, { text: "research contracts", dry_run: true });
    await ok(api, "POST", "/api/voice/dispatch", 422, { text: "hum a tune" });
    await ok(api, "POST", "/api/mesh/control", 200, { text: "set contract-a max concurrent to 3" });
    await ok(api, "POST", "/api/mesh/control", 422, { text: "format the disks" });

    // Agent tokens and API keys.
    const minted = (
      await ok<{ token: string; agent_token: { id: string } }>(api, "POST", "/api/tokens", 201, {
        agent_id: "contract-a",
        role: "worker",
      })
    ).body;
    await ok(api, "GET", "/api/tokens", 200);
    await ok(api, "DELETE", `/api/tokens/${minted.agent_token.id}`, 200);
    const key = (
      await ok<{ api_key: { id: string } }>(api, "POST", "/api/keys", 201, {
        name: "contract",
        per_minute: 60,
      })
    ).body.api_key.id;
    await ok(api, "GET", "/api/keys", 200);
    await ok(api, "GET", `/api/keys/${key}`, 200);
    await ok(api, "PATCH", `/api/keys/${key}`, 200, { per_day: 1000 });
    await ok(api, "DELETE", `/api/keys/${key}`, 200);

    // Users and dashboard sessions (cookie + CSRF token).
    const password = "contract-password-1";
    const user = (
      await ok<{ user: { id: string } }>(api, "POST", "/api/users", 201, {
        username: "contract-user",
        password,
        role: "user",
      })
    ).body.user.id;
    await ok(api, "GET", "/api/users", 200);
    await ok(api, "GET", `/api/users/${user}`, 200);
    await ok(api, "PATCH", `/api/users/${user}`, 200, { role: "viewer" });
    const anonymous = api.as(null);
    const login = await ok<{ csrf_token: string }>(anonymous, "POST", "/api/auth/login", 200, {
      username: "contract-user",
      password,
    });
    const cookie = login.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    const session = { cookie, "x-csrf-token": login.body.csrf_token };
    const changed = await ok<{ csrf_token: string }>(
      anonymous,
      "POST",
      "/api/auth/password",
      200,
      { current_password: password, new_password: "contract-password-2" },
      session,
    );
    const fresh = changed.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    await ok(anonymous, "POST", "/api/auth/logout", 204, undefined, {
      cookie: fresh,
      "x-csrf-token": changed.body.csrf_token,
    });
    await ok(api, "GET", "/api/auth/me", 200);
    await ok(api, "DELETE", "/api/sessions", 200);
    await ok(api, "DELETE", `/api/users/${user}`, 204);
    await ok(api, "GET", "/api/audit?limit=5", 200);

    // Prometheus metrics after the run above (text, not JSON: the content type is what is checked).
    const metrics = await api.call<string>("GET", "/metrics");
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toMatch(/^m3shd_tasks\{status="done"\} [1-9]/m);

    // Error statuses parse with the envelope (and must be declared by their route).
    await ok(api.as(null), "GET", "/api/tasks", 401);
    await ok(api, "GET", "/api/tasks/not-a-task-id", 422);
    await ok(api, "GET", "/api/tasks/task_01J9Z3AAAAAAAAAAAAAAAAAAAA", 404);

    // The dashboard's files and the public demo, on a mesh with a (minimal) build and demo mode on.
    const build = mkdtempSync(join(tmpdir(), "m3shd-contract-dash-"));
    mkdirSync(join(build, "assets"));
    writeFileSync(join(build, "index.html"), "<!doctype html><title>m3shd</title>");
    writeFileSync(join(build, "assets", "app-ABCD1234.js"), "export {};");
    writeFileSync(join(build, "sw.js"), "self.addEventListener('fetch', () => {});");
    writeFileSync(join(build, "manifest.webmanifest"), "{}");
    writeFileSync(join(build, "icon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
    onTestFinished(() => rmSync(build, { recursive: true, force: true }));
    const demo = (await testMesh("embedded", { hub: { dashboard: { dir: build, demo: true } } })).api.as(
      null,
    );
    await ok(demo, "GET", "/", 200);
    await ok(demo, "GET", "/assets/app-ABCD1234.js", 200);
    await ok(demo, "GET", "/assets/app-ZZZZ9999.js", 404);
    await ok(demo, "GET", "/sw.js", 200);
    await ok(demo, "GET", "/manifest.webmanifest", 200);
    await ok(demo, "GET", "/icon.svg", 200);
    await ok(demo, "GET", "/demo", 200);
    await ok(demo, "GET", "/demo/api/agents", 200);
    await ok(demo, "GET", "/demo/api/tasks?limit=5", 200);
    await ok(demo, "GET", "/demo/api/tasks/task_01J9Z3AAAAAAAAAAAAAAAAAAAA", 404);
    await ok(demo, "GET", "/demo/api/approvals", 200);

    const missing = HUB_ROUTES.map((r) => r.id).filter((id) => !contractHits.has(id));
    expect(missing, "hub routes this test never called").toEqual([]);
  }, 60_000);
});
