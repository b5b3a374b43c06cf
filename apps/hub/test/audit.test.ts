import { generateNodeIdentity } from "@m3shd/crypto";
import { insertEscalation, insertNodeKey, transitionTask, upsertAgent } from "@m3shd/db";
import { newId } from "@m3shd/protocol";
import { describe, expect, test } from "vitest";
import { AuditListResponseSchema } from "../src/schemas/security";
import { AUDIT_ACTIONS } from "../src/services/audit";
import { MASTER, secTest, startTestHub, type TestHub } from "./security-fixture";

/**
 * The audit log records domain actions, each with exactly one row written in the transaction that
 * performs it; worker traffic writes none; old rows are pruned on a timer against the hub clock.
 */

const TASK = { title: "t", prompt: "p", required_capability: "echo" };
const DAY = 86_400_000;

function rows(t: TestHub): { action: string; actor: string; target: string | null }[] {
  return t.database.sqlite
    .prepare("select action, actor, target from audit_log order by ts, rowid")
    .all() as { action: string; actor: string; target: string | null }[];
}

/** Performs `act` and checks it wrote exactly the rows `expected` (action, target). */
async function expectAudited<R extends { status: number }>(
  t: TestHub,
  act: () => Promise<R>,
  expected: [action: keyof typeof AUDIT_ACTIONS, target: unknown][],
  status?: number,
) {
  const before = rows(t).length;
  const res = await act();
  if (status !== undefined) expect(res.status).toBe(status);
  else expect(res.status).toBeLessThan(300);
  const added = rows(t).slice(before);
  expect(added.map((r) => [r.action, r.target])).toEqual(expected);
  for (const [action] of expected) exercised.add(action);
  return res;
}

/** Every action some test in this file proved to write exactly one row (checked by the last test). */
const exercised = new Set<string>();

describe("audit per domain action", () => {
  secTest("heartbeats, claims, chunks and completions write no audit rows", async ({ t }) => {
    const minted = await t.call("POST", "/api/tokens", {
      token: MASTER,
      body: { agent_id: "w1", role: "worker" },
    });
    const token = minted.body.token as string;
    const before = rows(t).length;
    const reg = await t.call("POST", "/api/agents/w1/register", {
      token,
      body: { capabilities: ["echo"], max_concurrent: 2 },
    });
    expect(reg.status).toBeLessThan(300);
    for (let i = 0; i < 3; i++) {
      expect(
        (await t.call("POST", "/api/agents/w1/heartbeat", { token, body: { active_tasks: 0 } })).status,
      ).toBe(200);
    }
    const created = await t.call("POST", "/api/tasks", { token: MASTER, body: TASK });
    const id = created.body.task.id as string;
    transitionTask(t.database.db, {
      id,
      from: "queued",
      to: "assigned",
      set: { assignedTo: "w1" },
      now: t.clock.now,
    });
    const next = await t.call("GET", "/api/agents/w1/tasks/next", { token });
    expect(next.body.task.id).toBe(id);
    const attempt = next.body.attempt as number;
    for (const content of ["a", "b"]) {
      expect(
        (await t.call("POST", `/api/tasks/${id}/stream`, { token, body: { content, attempt } })).status,
      ).toBeLessThan(300);
    }
    expect(
      (await t.call("PUT", `/api/tasks/${id}`, { token, body: { status: "done", output: "ab", attempt } }))
        .status,
    ).toBe(200);
    // Of all that, only the operator's submission is an action.
    expect(rows(t).slice(before)).toEqual([{ action: "task.create", actor: "master", target: id }]);
  });

  secTest(
    "each domain action writes exactly one row; a repeat that changes nothing and a refused action write none",
    async ({ t }) => {
      upsertAgent(t.database.db, {
        id: "w1",
        name: "w1",
        capabilities: ["echo"],
        maxConcurrent: 2,
        now: t.clock.now,
      });
      const as = { token: MASTER };
      const a = await expectAudited(t, () => t.call("POST", "/api/tasks", { ...as, body: TASK }), [
        ["task.create", expect.any(String)],
      ]);
      const parent = (await t.call("POST", "/api/tasks", { ...as, body: TASK })).body.task.id as string;
      const child = (await t.call("POST", "/api/tasks", { ...as, body: { ...TASK, depends_on: [parent] } }))
        .body.task.id as string;
      const other = (await t.call("POST", "/api/tasks", { ...as, body: TASK })).body.task.id as string;
      await expectAudited(
        t,
        () => t.call("POST", `/api/tasks/${child}/dependencies`, { ...as, body: { depends_on: [other] } }),
        [["task.dependencies_add", child]],
      );
      await expectAudited(
        t,
        () => t.call("POST", `/api/tasks/${a.body.task.id}/cancel`, { ...as, body: {} }),
        [["task.cancel", a.body.task.id]],
      );
      // Cancelling it again is a 409: no action, no row.
      await expectAudited(
        t,
        () => t.call("POST", `/api/tasks/${a.body.task.id}/cancel`, { ...as, body: {} }),
        [],
        409,
      );

      const pipeline = await expectAudited(
        t,
        () =>
          t.call("POST", "/api/pipelines", {
            ...as,
            body: {
              name: "p",
              steps: [
                { name: "s1", ...TASK },
                { name: "s2", ...TASK },
              ],
            },
          }),
        [["pipeline.create", expect.any(String)]],
      );
      expect(pipeline.status).toBe(201);

      const tpl = await expectAudited(
        t,
        () =>
          t.call("POST", "/api/templates", {
            ...as,
            body: { name: "Cmp", prompt_template: "Compare {a}", capability: "echo" },
          }),
        [["template.create", expect.any(String)]],
      );
      const tplId = tpl.body.template.id;
      await expectAudited(
        t,
        () => t.call("PUT", `/api/templates/${tplId}`, { ...as, body: { priority: 7 } }),
        [["template.update", tplId]],
      );
      await expectAudited(t, () => t.call("DELETE", `/api/templates/${tplId}`, as), [
        ["template.delete", tplId],
      ]);

      const tok = await expectAudited(
        t,
        () => t.call("POST", "/api/tokens", { ...as, body: { agent_id: "w1", role: "worker" } }),
        [["token.create", expect.any(String)]],
      );
      const tokId = tok.body.agent_token.id;
      await expectAudited(t, () => t.call("DELETE", `/api/tokens/${tokId}`, as), [["token.revoke", tokId]]);
      await expectAudited(t, () => t.call("DELETE", `/api/tokens/${tokId}`, as), []); // idempotent repeat

      const key = await expectAudited(
        t,
        () => t.call("POST", "/api/keys", { ...as, body: { name: "k", permissions: ["tasks:read"] } }),
        [["key.create", expect.any(String)]],
      );
      const keyId = key.body.api_key.id;
      await expectAudited(t, () => t.call("PATCH", `/api/keys/${keyId}`, { ...as, body: { name: "k2" } }), [
        ["key.update", keyId],
      ]);
      await expectAudited(t, () => t.call("DELETE", `/api/keys/${keyId}`, as), [["key.revoke", keyId]]);

      const user = await expectAudited(
        t,
        () =>
          t.call("POST", "/api/users", {
            ...as,
            body: { username: "ann", password: "ann-password-123", role: "viewer" },
          }),
        [["user.create", expect.any(String)]],
      );
      const userId = user.body.user.id;
      await expectAudited(
        t,
        () => t.call("PATCH", `/api/users/${userId}`, { ...as, body: { role: "user" } }),
        [["user.role_change", userId]],
      );
      await expectAudited(
        t,
        () => t.call("PATCH", `/api/users/${userId}`, { ...as, body: { role: "user" } }),
        [],
      ); // same role
      await expectAudited(
        t,
        () => t.call("PATCH", `/api/users/${userId}`, { ...as, body: { disabled: true } }),
        [["user.disable", userId]],
      );

      await expectAudited(
        t,
        () => t.call("PUT", "/api/context/deploy.target", { ...as, body: { value: 1 } }),
        [["context.set", "deploy.target"]],
      );
      await expectAudited(t, () => t.call("DELETE", "/api/context/deploy.target", as), [
        ["context.delete", "deploy.target"],
      ]);
      await expectAudited(
        t,
        () => t.call("PUT", "/api/agents/w1/settings", { ...as, body: { daily_token_cap: 10 } }),
        [["agent.settings_update", "w1"]],
      );
      const approval = await expectAudited(
        t,
        () =>
          t.call("POST", "/api/approvals", {
            ...as,
            body: { action: "deploy", timeout_s: 60 },
            headers: { "x-m3shd-agent": "w1" },
          }),
        [["approval.request", expect.any(String)]],
      );
      const aprId = approval.body.approval.id;
      await expectAudited(
        t,
        () => t.call("PUT", `/api/approvals/${aprId}`, { ...as, body: { decision: "approved" } }),
        [["approval.decide", aprId]],
      );
      await expectAudited(
        t,
        () => t.call("PUT", `/api/approvals/${aprId}`, { ...as, body: { decision: "rejected" } }),
        [],
        409,
      );
      await expectAudited(t, () => t.call("DELETE", "/api/sessions", as), [["session.revoke_all", null]]);

      // The actor is the authenticated subject throughout.
      expect(new Set(rows(t).map((r) => r.actor))).toEqual(new Set(["master"]));
    },
  );

  secTest(
    "the user lifecycle, sessions and escalations: one row per action, in the acting user's name",
    async ({ t }) => {
      const as = { token: MASTER };
      const created = await expectAudited(
        t,
        () =>
          t.call("POST", "/api/users", {
            ...as,
            body: { username: "bo", password: "bo-password-1234", role: "user" },
          }),
        [["user.create", expect.any(String)]],
      );
      const id = created.body.user.id as string;
      await expectAudited(t, () => t.call("PATCH", `/api/users/${id}`, { ...as, body: { disabled: true } }), [
        ["user.disable", id],
      ]);
      await expectAudited(
        t,
        () => t.call("PATCH", `/api/users/${id}`, { ...as, body: { disabled: false } }),
        [["user.enable", id]],
      );
      await expectAudited(
        t,
        () => t.call("PATCH", `/api/users/${id}`, { ...as, body: { password: "bo-new-password-5678" } }),
        [["user.password_reset", id]],
      );
      // A wrong password is its own refusal action; the right one opens a session.
      await expectAudited(
        t,
        () => t.call("POST", "/api/auth/login", { body: { username: "bo", password: "wrong-password-000" } }),
        [["auth.login_failed", "bo"]],
        401,
      );
      const login = await expectAudited(
        t,
        () =>
          t.call("POST", "/api/auth/login", { body: { username: "bo", password: "bo-new-password-5678" } }),
        [["session.login", id]],
      );
      const cookies = login.headers.getSetCookie().map((c) => c.split(";")[0] as string);
      const sessionId = cookies.find((c) => c.startsWith("m3shd_session="))?.split("=")[1] as string;
      const session = { id: sessionId, csrf: login.body.csrf_token as string, userId: id };
      await expectAudited(
        t,
        () =>
          t.call("POST", "/api/auth/password", {
            session,
            body: { current_password: "bo-new-password-5678", new_password: "bo-third-password-9012" },
          }),
        [["user.password_change", id]],
      );
      const second = await t.call("POST", "/api/auth/login", {
        body: { username: "bo", password: "bo-third-password-9012" },
      });
      expect(second.status).toBe(200);
      const secondId = second.headers
        .getSetCookie()
        .map((c) => c.split(";")[0] as string)
        .find((c) => c.startsWith("m3shd_session="))
        ?.split("=")[1] as string;
      await expectAudited(
        t,
        () =>
          t.call("POST", "/api/auth/logout", {
            session: { id: secondId, csrf: second.body.csrf_token, userId: id },
          }),
        [["session.logout", id]],
      );
      expect(
        rows(t)
          .filter((r) => r.action === "session.logout")
          .at(-1)?.actor,
      ).toBe(`user:${id}`);
      await expectAudited(t, () => t.call("DELETE", `/api/users/${id}`, as), [["user.delete", id]]);

      upsertAgent(t.database.db, {
        id: "w9",
        name: "w9",
        capabilities: ["echo"],
        maxConcurrent: 1,
        now: t.clock.now,
      });
      const esc = insertEscalation(t.database.db, {
        id: newId("esc"),
        agentId: "w9",
        taskId: null,
        target: "operator",
        reason: "three failures",
        failures: 3,
        now: t.clock.now,
      });
      await expectAudited(
        t,
        () => t.call("PUT", `/api/escalations/${esc.id}`, { ...as, body: { resolution: "fixed" } }),
        [["escalation.resolve", esc.id]],
      );
      await expectAudited(t, () => t.call("PUT", `/api/escalations/${esc.id}`, { ...as, body: {} }), [], 409);
      // Inbound webhooks and mesh control.
      const hook = await expectAudited(
        t,
        () =>
          t.call("POST", "/api/admin/webhooks", {
            ...as,
            body: {
              name: "ci",
              kind: "generic",
              action: {
                type: "task",
                title: "CI",
                prompt_template: "Build {id}",
                required_capability: "echo",
              },
            },
          }),
        [["webhook.create", expect.any(String)]],
      );
      const hookId = hook.body.webhook.id as string;
      // A delivery is worker-like traffic of the sender: recorded as a delivery, not audited.
      await expectAudited(
        t,
        () =>
          t.call("POST", `/api/webhooks/${hookId}`, {
            body: { id: 1 },
            headers: { "x-webhook-secret": hook.body.secret as string },
          }),
        [["task.create", expect.any(String)]],
        202,
      );
      await expectAudited(
        t,
        () =>
          t.call("POST", "/api/mesh/control", {
            ...as,
            body: { operation: { op: "set_maintenance", agent: "w9", maintenance: true }, dry_run: false },
          }),
        [["agent.control", "w9"]],
      );
      // A dry run changes nothing and writes nothing.
      await expectAudited(
        t,
        () => t.call("POST", "/api/mesh/control", { ...as, body: { text: "set w9 max concurrent to 2" } }),
        [],
      );
      await expectAudited(t, () => t.call("DELETE", `/api/admin/webhooks/${hookId}`, as), [
        ["webhook.delete", hookId],
      ]);

      // A write refused at the door is recorded as a refusal, once.
      await expectAudited(
        t,
        () => t.call("POST", "/api/tasks", { token: "m3shd_ag_not-a-real-token", body: TASK }),
        [["auth.refused", expect.stringContaining("401")]],
        401,
      );
    },
  );

  secTest(
    "plugins: disabling and enabling write one row each; setting the same state writes none",
    async ({ t }) => {
      await t.hub.ready;
      const as = { token: MASTER };
      await expectAudited(
        t,
        () => t.call("PUT", "/api/plugins/web_search", { ...as, body: { enabled: false } }),
        [["plugin.disable", "web_search"]],
      );
      await expectAudited(
        t,
        () => t.call("PUT", "/api/plugins/web_search", { ...as, body: { enabled: false } }),
        [],
      );
      await expectAudited(
        t,
        () => t.call("PUT", "/api/plugins/web_search", { ...as, body: { enabled: true } }),
        [["plugin.enable", "web_search"]],
      );
      // An unknown plugin is a 404: nothing acted on, no row.
      await expectAudited(
        t,
        () => t.call("PUT", "/api/plugins/nope", { ...as, body: { enabled: true } }),
        [],
        404,
      );
    },
  );

  secTest(
    "node keys: bind at first registration, rotate, approve and revoke write one row each",
    async ({ t }) => {
      const as = { token: MASTER };
      const first = generateNodeIdentity("keyed");
      const body = { capabilities: ["echo"], max_concurrent: 1 };
      await expectAudited(
        t,
        () =>
          t.call("POST", "/api/agents/keyed/register", {
            ...as,
            body: { ...body, public_key: first.public_key },
          }),
        [["node_key.bind", `keyed/${first.key_id}`]],
      );
      // Registering again with the bound key binds nothing new.
      await expectAudited(
        t,
        () =>
          t.call("POST", "/api/agents/keyed/register", {
            ...as,
            body: { ...body, public_key: first.public_key },
          }),
        [],
      );
      const second = generateNodeIdentity("keyed");
      await expectAudited(
        t,
        () => t.call("POST", "/api/agents/keyed/keys", { ...as, body: { public_key: second.public_key } }),
        [["node_key.rotate", `keyed/${second.key_id}`]],
        201,
      );
      await expectAudited(
        t,
        () => t.call("POST", `/api/agents/keyed/keys/${second.key_id}/revoke`, { ...as, body: {} }),
        [["node_key.revoke", `keyed/${second.key_id}`]],
      );
      // Revoking it again is a 409: no row.
      await expectAudited(
        t,
        () => t.call("POST", `/api/agents/keyed/keys/${second.key_id}/revoke`, { ...as, body: {} }),
        [],
        409,
      );
      const pending = generateNodeIdentity("other");
      insertNodeKey(t.database.db, {
        keyId: pending.key_id,
        agentId: "other",
        publicKey: pending.public_key,
        status: "pending",
        createdAt: t.clock.now,
      });
      await expectAudited(
        t,
        () => t.call("POST", `/api/agents/other/keys/${pending.key_id}/approve`, { ...as }),
        [["node_key.approve", `other/${pending.key_id}`]],
      );
    },
  );

  secTest("every audit action is proved by a test above to write exactly one row", async ({ t }) => {
    void t;
    expect(Object.keys(AUDIT_ACTIONS).filter((a) => !exercised.has(a))).toEqual([]);
  });

  secTest("the row commits with its action or not at all", async ({ t }) => {
    upsertAgent(t.database.db, {
      id: "w1",
      name: "w1",
      capabilities: ["echo"],
      maxConcurrent: 2,
      now: t.clock.now,
    });
    const id = (await t.call("POST", "/api/tasks", { token: MASTER, body: TASK })).body.task.id as string;
    const user = (
      await t.call("POST", "/api/users", {
        token: MASTER,
        body: { username: "bo", password: "bo-password-1234" },
      })
    ).body.user.id as string;
    const before = rows(t);
    t.database.sqlite.exec(`
      CREATE TRIGGER audit_fails BEFORE INSERT ON audit_log
      WHEN NEW.action IN ('task.cancel', 'user.disable')
      BEGIN SELECT RAISE(ABORT, 'forced audit failure'); END`);
    // The audit write fails: the cancellation it records is undone with it.
    expect(
      (
        await t.call("POST", `/api/tasks/${id}/cancel`, {
          token: MASTER,
          body: {},
          expectInternalError: true,
        })
      ).status,
    ).toBe(500);
    expect((await t.call("GET", `/api/tasks/${id}`, { token: MASTER })).body.task.status).toBe("queued");
    // Two actions in one request: the role change's row was written, then the disable's failed —
    // the transaction rolls back, taking the first row and both changes with it.
    const patched = await t.call("PATCH", `/api/users/${user}`, {
      token: MASTER,
      body: { role: "admin", disabled: true },
      expectInternalError: true,
    });
    expect(patched.status).toBe(500);
    expect((await t.call("GET", `/api/users/${user}`, { token: MASTER })).body.user).toMatchObject({
      role: "viewer",
      disabled_at: null,
    });
    expect(rows(t)).toEqual(before);
    t.database.sqlite.exec("DROP TRIGGER audit_fails");
  });

  test("retention prunes rows older than M3SHD_AUDIT_RETENTION_DAYS on the hub clock", async () => {
    const t = await startTestHub({ config: { auditRetentionDays: 30, auditPruneEveryMs: 20 } });
    await t.call("POST", "/api/tasks", { token: MASTER, body: TASK });
    t.clock.now += 29 * DAY;
    await t.call("POST", "/api/tasks", { token: MASTER, body: TASK });
    // Nothing is old enough yet: the pruner runs and keeps both.
    await new Promise((r) => setTimeout(r, 100));
    expect(rows(t)).toHaveLength(2);
    t.clock.now += 2 * DAY; // the first row is now 31 days old, the second 2
    await expect.poll(() => rows(t).length, { timeout: 5000 }).toBe(1);
    const listed = AuditListResponseSchema.parse((await t.call("GET", "/api/audit", { token: MASTER })).body);
    expect(listed.entries.map((e) => e.action)).toEqual(["task.create"]);
    expect(listed.entries[0]?.ts).toBe(t.clock.now - 2 * DAY);
  });
});
