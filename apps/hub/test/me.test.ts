import { ErrorBodySchema, PERMISSIONS, ROLE_PRESETS, WhoAmIResponseSchema } from "@m3shd/protocol";
import { describe, expect } from "vitest";
import { credentialsOf, MASTER, setupPrincipals, secTest as test } from "./security-fixture";

describe("GET /api/auth/me", () => {
  test("answers each credential's principal and exact permissions", async ({ t }) => {
    const principals = await setupPrincipals(t);
    for (const name of ["worker", "commander", "apiKey", "session", "master", "empty"] as const) {
      const p = principals[name];
      const res = await t.call("GET", "/api/auth/me", credentialsOf(t, p));
      expect(res.status, name).toBe(200);
      const me = WhoAmIResponseSchema.parse(res.body);
      expect(new Set(me.permissions), name).toEqual(p.permissions);
      expect(me.agent_id, name).toBe(p.agentId);
    }
    const worker = WhoAmIResponseSchema.parse(
      (await t.call("GET", "/api/auth/me", { token: principals.worker.token })).body,
    );
    expect(worker).toEqual({
      kind: "agent",
      subject: "agent:agent-worker",
      agent_id: "agent-worker",
      // In the protocol's order, whatever order the token was minted with.
      permissions: PERMISSIONS.filter((p) => (ROLE_PRESETS.worker as readonly string[]).includes(p)),
    });
    const master = WhoAmIResponseSchema.parse(
      (await t.call("GET", "/api/auth/me", { token: principals.master.token })).body,
    );
    expect(master.kind).toBe("master");
    expect(master.permissions).toEqual([...PERMISSIONS]);
  });

  test("401 with the error envelope without a valid credential; a malformed header never falls back", async ({
    t,
  }) => {
    const cases: Record<string, string>[] = [
      {},
      { authorization: "Bearer not-a-real-token" },
      { authorization: "Basic abc" },
    ];
    for (const headers of cases) {
      const res = await t.call("GET", "/api/auth/me", { headers });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(ErrorBodySchema.parse(res.body).error.code).toBe("unauthorized");
    }
  });

  test("a revoked token is refused at once", async ({ t }) => {
    const minted = await t.call("POST", "/api/tokens", {
      token: MASTER,
      body: { agent_id: "agent-x", permissions: ["tasks:read"] },
    });
    expect(minted.status).toBe(201);
    expect((await t.call("GET", "/api/auth/me", { token: minted.body.token })).status).toBe(200);
    expect(
      (await t.call("DELETE", `/api/tokens/${minted.body.agent_token.id}`, { token: MASTER })).status,
    ).toBeLessThan(300);
    expect((await t.call("GET", "/api/auth/me", { token: minted.body.token })).status).toBe(401);
  });
});
