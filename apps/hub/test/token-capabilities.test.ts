import { getAgent } from "@m3shd/db";
import { ErrorBodySchema } from "@m3shd/protocol";
import { describe, expect } from "vitest";
import { AgentTokenSchema, MintedAgentTokenResponseSchema } from "../src/schemas/security";
import { MASTER, secTest as test } from "./security-fixture";

describe("agent tokens bound to capabilities", () => {
  test("registration within the binding works, beyond it is 403 with the envelope", async ({ t }) => {
    const minted = await t.call("POST", "/api/tokens", {
      token: MASTER,
      body: { agent_id: "bound-1", role: "worker", capabilities: ["echo", "code"] },
    });
    expect(minted.status, minted.text).toBe(201);
    const { token, agent_token } = MintedAgentTokenResponseSchema.parse(minted.body);
    expect(AgentTokenSchema.parse(agent_token).capabilities).toEqual(["code", "echo"]);

    const ok = await t.call("POST", "/api/agents/bound-1/register", {
      token,
      body: { capabilities: ["echo"], max_concurrent: 1 },
    });
    expect(ok.status, ok.text).toBe(200);
    expect(getAgent(t.database.db, "bound-1")?.allowedCapabilities).toEqual(["code", "echo"]);

    // Re-registering to widen the scope is refused, and nothing about the agent changes.
    const wider = await t.call("POST", "/api/agents/bound-1/register", {
      token,
      body: { capabilities: ["echo", "secrets"], max_concurrent: 4 },
    });
    expect(wider.status, wider.text).toBe(403);
    const err = ErrorBodySchema.parse(wider.body);
    expect(err.error.code).toBe("forbidden");
    expect(err.error.message).toContain("secrets");
    expect(err.error.request_id).toBeTruthy();
    const row = getAgent(t.database.db, "bound-1");
    expect(row?.capabilities).toEqual(["echo"]);
    expect(row?.maxConcurrent).toBe(1);
  });

  test("a token minted without capabilities is bound by its first registration", async ({ t }) => {
    const minted = await t.call("POST", "/api/tokens", {
      token: MASTER,
      body: { agent_id: "free-1", role: "worker" },
    });
    const { token, agent_token } = MintedAgentTokenResponseSchema.parse(minted.body);
    expect(agent_token.capabilities).toBeNull();
    const res = await t.call("POST", "/api/agents/free-1/register", {
      token,
      body: { capabilities: ["research", "code"], max_concurrent: 1 },
    });
    expect(res.status, res.text).toBe(200);
    expect(getAgent(t.database.db, "free-1")?.allowedCapabilities).toEqual(["code", "research"]);
    // The binding is now the token's: it lists, and it holds on the next registration.
    const listed = await t.call("GET", "/api/tokens?agent_id=free-1", { token: MASTER });
    expect(
      (listed.body as { agent_tokens: { capabilities: string[] | null }[] }).agent_tokens[0]?.capabilities,
    ).toEqual(["code", "research"]);
    const narrower = await t.call("POST", "/api/agents/free-1/register", {
      token,
      body: { capabilities: ["code"], max_concurrent: 1 },
    });
    expect(narrower.status, narrower.text).toBe(200);
    const wider = await t.call("POST", "/api/agents/free-1/register", {
      token,
      body: { capabilities: ["code", "secrets"], max_concurrent: 1 },
    });
    expect(wider.status, wider.text).toBe(403);
    expect(ErrorBodySchema.parse(wider.body).error.message).toContain("secrets");
    // The master token stays unbound: it may register anything for any agent.
    const master = await t.call("POST", "/api/agents/free-2/register", {
      token: MASTER,
      body: { capabilities: ["anything"], max_concurrent: 1 },
    });
    expect(master.status, master.text).toBe(200);
    expect(getAgent(t.database.db, "free-2")?.allowedCapabilities).toBeNull();
  });

  test("duplicate capabilities in a mint are 422", async ({ t }) => {
    const res = await t.call("POST", "/api/tokens", {
      token: MASTER,
      body: { agent_id: "dup-1", capabilities: ["a", "a"] },
    });
    expect(res.status).toBe(422);
  });
});
