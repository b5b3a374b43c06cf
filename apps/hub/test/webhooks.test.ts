import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { upsertAgent } from "@m3shd/db";
import {
  CreatedWebhookResponseSchema,
  ErrorBodySchema,
  MeshControlResponseSchema,
  VoiceDispatchResponseSchema,
  WebhookDeliveryListResponseSchema,
  WebhookListResponseSchema,
  WebhookReceiptSchema,
} from "@m3shd/protocol";
import { describe, expect } from "vitest";
import { githubSignature, renderPayloadTemplate, valueAt } from "../src/services/webhooks";
import { MASTER, type TestHub, secTest as test } from "./security-fixture";

// Copies of the shared vectors (see fixtures/webhooks/SOURCES.md).
const FIXTURES = fileURLToPath(new URL("./fixtures/webhooks/", import.meta.url));
const vector = (path: string) => JSON.parse(readFileSync(`${FIXTURES}${path}`, "utf8"));
const github = vector("webhook-signature.json") as {
  secret: string;
  payload: string;
  "expected_X-Hub-Signature-256": string;
};
const push = vector("push-event.json") as {
  secret: string;
  request: { headers: Record<string, string>; raw_body: string };
};
const kumaDown = readFileSync(`${FIXTURES}uptime-kuma-down.json`, "utf8");
const kumaUp = readFileSync(`${FIXTURES}uptime-kuma-up.json`, "utf8");

async function templateId(t: TestHub, name: string): Promise<string> {
  const list = await t.call("GET", "/api/templates", { token: MASTER });
  const found = (list.body.templates as { id: string; name: string }[]).find((x) => x.name === name);
  if (!found) throw new Error(`no template ${name}`);
  return found.id;
}

async function tasks(
  t: TestHub,
): Promise<{ id: string; title: string; prompt: string; created_by: string }[]> {
  return (await t.call("GET", "/api/tasks?limit=100", { token: MASTER })).body.tasks;
}

describe("GitHub signatures", () => {
  test("the docs' test vector, and the push sample's signature over its raw body", () => {
    expect(githubSignature(github.secret, github.payload)).toBe(github["expected_X-Hub-Signature-256"]);
    expect(githubSignature(push.secret, push.request.raw_body)).toBe(
      push.request.headers["X-Hub-Signature-256"],
    );
  });

  test("payload paths read own properties only, cut long values, and never expand twice", () => {
    const payload = JSON.parse(push.request.raw_body);
    expect(valueAt(payload, "repository.full_name")).toBe("Codertocat/Hello-World");
    expect(valueAt(payload, "commits.0.id")).toBe(payload.commits[0]?.id ?? "");
    expect(valueAt(payload, "constructor.name")).toBe("");
    expect(valueAt({ a: "x".repeat(5000) }, "a")).toHaveLength(2048);
    expect(renderPayloadTemplate("{a} {b}", { a: "{b}", b: "B" })).toBe("{b} B");
  });
});

describe("inbound webhooks", () => {
  test("GitHub: a signed sample delivery creates the mapped task; a wrong signature and a replay do not", async ({
    t,
  }) => {
    const research = await templateId(t, "Research");
    const created = await t.call("POST", "/api/admin/webhooks", {
      token: MASTER,
      body: {
        name: "gh",
        kind: "github",
        events: ["push"],
        secret: push.secret,
        action: { type: "template", template_id: research, variables: { topic: "repository.full_name" } },
      },
    });
    expect(created.status, created.text).toBe(201);
    const { webhook, secret } = CreatedWebhookResponseSchema.parse(created.body);
    expect(secret).toBe(push.secret);
    // The secret is sealed at rest: neither it nor its prefix is in the row.
    const stored = t.database.sqlite.prepare("select * from inbound_webhooks").get() as Record<
      string,
      string
    >;
    expect(JSON.stringify(stored)).not.toContain("Secret to Everybody");
    expect(webhook.secret_hint).toMatch(/^sha256:[0-9a-f]{12}$/);

    const headers = {
      "content-type": "application/json",
      "x-github-event": "push",
      "x-github-delivery": push.request.headers["X-GitHub-Delivery"] as string,
      "x-hub-signature-256": push.request.headers["X-Hub-Signature-256"] as string,
    };
    const ok = await t.call("POST", webhook.url_path, { raw: push.request.raw_body, headers });
    expect(ok.status, ok.text).toBe(202);
    const receipt = WebhookReceiptSchema.parse(ok.body);
    expect(receipt).toMatchObject({ status: "accepted", event: "push" });
    const [task] = await tasks(t);
    expect(task?.id).toBe(receipt.task_id);
    expect(task?.prompt).toContain("Research Codertocat/Hello-World.");
    expect(t.database.sqlite.prepare("select created_by from tasks").get()).toEqual({
      created_by: `webhook:${webhook.id}`,
    });

    // Redelivered (GitHub's "Redeliver" button): acknowledged, not acted on twice.
    const again = await t.call("POST", webhook.url_path, { raw: push.request.raw_body, headers });
    expect(again.status).toBe(200);
    expect(WebhookReceiptSchema.parse(again.body)).toMatchObject({ status: "duplicate" });
    // One byte changed: the signature no longer matches.
    const tampered = await t.call("POST", webhook.url_path, {
      raw: push.request.raw_body.replace("Hello-World", "Hello-Worle"),
      headers: { ...headers, "x-github-delivery": "another-delivery" },
    });
    expect(tampered.status).toBe(401);
    expect(ErrorBodySchema.parse(tampered.body).error.code).toBe("unauthorized");
    const unsigned = await t.call("POST", webhook.url_path, {
      raw: push.request.raw_body,
      headers: { "content-type": "application/json", "x-github-event": "push" },
    });
    expect(unsigned.status).toBe(401);
    // A ping (sent when the hook is created in GitHub) and an unfiltered event are ignored.
    const ping = await t.call("POST", webhook.url_path, {
      raw: "{}",
      headers: {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-hub-signature-256": githubSignature(push.secret, "{}"),
      },
    });
    expect(WebhookReceiptSchema.parse(ping.body)).toMatchObject({ status: "ignored", reason: "ping" });
    const issues = await t.call("POST", webhook.url_path, {
      raw: "{}",
      headers: {
        "content-type": "application/json",
        "x-github-event": "issues",
        "x-hub-signature-256": githubSignature(push.secret, "{}"),
      },
    });
    expect(WebhookReceiptSchema.parse(issues.body)).toMatchObject({ status: "ignored", reason: "filtered" });
    expect(await tasks(t)).toHaveLength(1);

    // Every delivery is recorded, with why; the listing counts them.
    const deliveries = WebhookDeliveryListResponseSchema.parse(
      (await t.call("GET", `${`/api/admin/webhooks/${webhook.id}`}/deliveries`, { token: MASTER })).body,
    ).deliveries;
    expect(deliveries.map((d) => [d.status, d.reason]).reverse()).toEqual([
      ["accepted", null],
      ["duplicate", "already delivered"],
      ["rejected", "bad_signature"],
      ["rejected", "missing_signature"],
      ["ignored", "ping"],
      ["ignored", "filtered"],
    ]);
    const listed = WebhookListResponseSchema.parse(
      (await t.call("GET", "/api/admin/webhooks", { token: MASTER })).body,
    );
    expect(listed.webhooks[0]?.deliveries).toEqual({ accepted: 1, rejected: 2, ignored: 2, duplicate: 1 });
  });

  test("Uptime Kuma: a down payload creates the mapped task, an up payload is filtered; 11th in a minute is 429", async ({
    t,
  }) => {
    const created = CreatedWebhookResponseSchema.parse(
      (
        await t.call("POST", "/api/admin/webhooks", {
          token: MASTER,
          body: {
            name: "kuma",
            kind: "uptime-kuma",
            events: ["down"],
            action: {
              type: "task",
              title: "Investigate outage",
              prompt_template:
                "Monitor {monitor.name} ({monitor.url}) is down: {heartbeat.msg}. Find the cause.",
              required_capability: "research",
              priority: 8,
            },
          },
        })
      ).body,
    );
    const send = (raw: string, headers: Record<string, string> = {}) =>
      t.call("POST", created.webhook.url_path, {
        raw,
        headers: {
          "content-type": "application/json",
          "user-agent": "Uptime-Kuma/2.5.3",
          "x-webhook-secret": created.secret,
          ...headers,
        },
      });
    const down = await send(kumaDown);
    expect(down.status, down.text).toBe(202);
    const [task] = await tasks(t);
    expect(task).toMatchObject({
      title: "Investigate outage",
      prompt: "Monitor Test (https://test.com) is down: getaddrinfo ENOTFOUND test.com. Find the cause.",
    });
    expect(WebhookReceiptSchema.parse((await send(kumaUp)).body)).toMatchObject({
      status: "ignored",
      event: "up",
    });
    // Not Uptime Kuma's shape: 422. A wrong secret: 401. A secret in the query string: 400.
    expect((await send('{"hello":1}')).status).toBe(422);
    expect((await send(kumaDown, { "x-webhook-secret": "nope" })).status).toBe(401);
    const query = await t.call("POST", `${created.webhook.url_path}?secret=${created.secret}`, {
      raw: kumaDown,
      headers: { "content-type": "application/json" },
    });
    expect(query.status).toBe(400);
    expect(ErrorBodySchema.parse(query.body).error.message).toContain("no query string");
    // Five requests so far this minute (every one counts, refused or not); five more pass, the
    // 11th is refused.
    for (let i = 0; i < 5; i++) expect((await send(kumaUp)).status).toBe(200);
    const limited = await send(kumaUp);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    // A new minute on the hub clock: accepted again.
    t.clock.now += 60_000;
    expect((await send(kumaUp)).status).toBe(200);
    expect(await tasks(t)).toHaveLength(1);
  });

  test("generic: X-Webhook-Secret in constant time, the payload's event field, an unknown id is 404; admin only", async ({
    t,
  }) => {
    const created = CreatedWebhookResponseSchema.parse(
      (
        await t.call("POST", "/api/admin/webhooks", {
          token: MASTER,
          body: {
            name: "ci",
            kind: "generic",
            action: {
              type: "task",
              title: "CI",
              prompt_template: "Build {build.id} {build.status}",
              required_capability: "echo",
            },
          },
        })
      ).body,
    );
    const res = await t.call("POST", created.webhook.url_path, {
      body: { event: "build", build: { id: 42, status: "red" } },
      headers: { "x-webhook-secret": created.secret, "x-webhook-delivery": "b-42" },
    });
    expect(WebhookReceiptSchema.parse(res.body)).toMatchObject({ status: "accepted", event: "build" });
    expect((await tasks(t))[0]?.prompt).toBe("Build 42 red");
    const missing = await t.call("POST", "/api/webhooks/whk_01J0000000000000000000000A", {
      body: {},
      headers: { "x-webhook-secret": created.secret },
    });
    expect(missing.status).toBe(404);
    // Creating one needs admin:webhooks; a template action must map the template's placeholders.
    const research = await templateId(t, "Research");
    const bad = await t.call("POST", "/api/admin/webhooks", {
      token: MASTER,
      body: {
        name: "x",
        kind: "generic",
        action: { type: "template", template_id: research, variables: {} },
      },
    });
    expect(bad.status).toBe(422);
    const deleted = await t.call("DELETE", `/api/admin/webhooks/${created.webhook.id}`, { token: MASTER });
    expect(deleted.status).toBe(200);
    const gone = await t.call("POST", created.webhook.url_path, {
      body: {},
      headers: { "x-webhook-secret": created.secret },
    });
    expect(gone.status).toBe(404);
  });
});

describe("voice dispatch", () => {
  test('"research StoreKit 2 pricing" dispatches the Research template with topic="StoreKit 2 pricing"', async ({
    t,
  }) => {
    const res = await t.call("POST", "/api/voice/dispatch", {
      token: MASTER,
      body: { text: "Hey mesh, please research StoreKit 2 pricing." },
    });
    expect(res.status, res.text).toBe(201);
    const body = VoiceDispatchResponseSchema.parse(res.body);
    expect(body).toMatchObject({
      template: { name: "Research" },
      variables: { topic: "StoreKit 2 pricing" },
      matched_by: "pattern",
      reply: "Dispatched Research: StoreKit 2 pricing.",
    });
    expect(body.task?.prompt).toBe(
      "Research StoreKit 2 pricing. Gather the key facts, cite your sources, and list the open questions that remain.",
    );
    for (const [text, name, value] of [
      ["review the login handler", "Code Review", "the login handler"],
      ["summarise yesterday's incident thread", "Summarize", "yesterday's incident thread"],
      ["write about vector clocks", "Write", "vector clocks"],
    ] as const) {
      const dry = VoiceDispatchResponseSchema.parse(
        (await t.call("POST", "/api/voice/dispatch", { token: MASTER, body: { text, dry_run: true } })).body,
      );
      expect(dry.template.name, text).toBe(name);
      expect(Object.values(dry.variables), text).toEqual([value]);
      expect(dry.task).toBeNull();
    }
    const nothing = await t.call("POST", "/api/voice/dispatch", {
      token: MASTER,
      body: { text: "sing a song" },
    });
    expect(nothing.status).toBe(422);
    expect(ErrorBodySchema.parse(nothing.body).error.message).toContain("No template matches");
  });
});

describe("mesh control", () => {
  test("each example phrase becomes its operation, applies only on confirmation, and nothing outside the set", async ({
    t,
  }) => {
    const db = t.database.db;
    for (const id of ["rex", "crucible", "archon"])
      upsertAgent(db, {
        id,
        name: id,
        capabilities: ["code_review", "research"],
        maxConcurrent: 8,
        now: t.clock.now,
      });
    const control = (body: Record<string, unknown>) =>
      t.call("POST", "/api/mesh/control", { token: MASTER, body });
    const cases: [string, Record<string, unknown>][] = [
      [
        "move rex to code-review only",
        { op: "restrict_capabilities", agent: "rex", capabilities: ["code_review"] },
      ],
      [
        "take crucible offline for maintenance",
        { op: "set_maintenance", agent: "crucible", maintenance: true },
      ],
      ["set archon max concurrent to 3", { op: "set_max_concurrent", agent: "archon", max_concurrent: 3 }],
    ];
    for (const [text, operation] of cases) {
      const dry = MeshControlResponseSchema.parse((await control({ text })).body);
      expect(dry, text).toMatchObject({ operation, interpreted_by: "parser", applied: false });
      // Nothing changed yet.
      const before = (await t.call("GET", `/api/agents/${operation.agent}`, { token: MASTER })).body.agent;
      expect(before.operator).toEqual({ capabilities: null, maintenance: false, max_concurrent: null });
      const applied = MeshControlResponseSchema.parse(
        (await control({ operation: dry.operation, dry_run: false })).body,
      );
      expect(applied.applied).toBe(true);
    }
    const agent = async (id: string) =>
      (await t.call("GET", `/api/agents/${id}`, { token: MASTER })).body.agent;
    expect((await agent("rex")).operator).toMatchObject({ capabilities: ["code_review"] });
    expect((await agent("crucible")).operator).toMatchObject({ maintenance: true });
    expect((await agent("archon")).operator).toMatchObject({ max_concurrent: 3 });

    // A monitoring question is answered at once.
    const count = MeshControlResponseSchema.parse(
      (await control({ text: "how many tasks has rex completed this week?" })).body,
    );
    expect(count).toMatchObject({
      operation: { op: "count_tasks", status: "done", window: "week" },
      count: 0,
    });

    // Outside the closed set: refused with what is supported; an unknown agent is 404.
    const refused = await control({ text: "delete every task and wipe the disk" });
    expect(refused.status).toBe(422);
    expect(ErrorBodySchema.parse(refused.body).error.message).toContain("Supported:");
    expect((await control({ text: "move nobody to qa only" })).status).toBe(404);
    expect((await control({ operation: { op: "drop_database" }, dry_run: false })).status).toBe(422);
  });
});
