import * as crypto from "@m3shd/crypto";
import { describe, expect, vi } from "vitest";
import { MASTER, openSession, secTest as test } from "./security-fixture";

// A pass-through spy, not a mock: every call still runs the real constantTimeEqual (SHA-256 both
// sides, then node:crypto's timingSafeEqual). It records which secrets the hub compares, and how.
vi.mock("@m3shd/crypto", async (importOriginal) => {
  const actual = await importOriginal<typeof import("@m3shd/crypto")>();
  return { ...actual, constantTimeEqual: vi.fn(actual.constantTimeEqual) };
});

const spy = vi.mocked(crypto.constantTimeEqual);

describe("constant-time credential checks", () => {
  test("master token, agent token, API key, session and CSRF token all go through constantTimeEqual", async ({
    t,
  }) => {
    // Master token: compared directly, in constant time.
    spy.mockClear();
    expect((await t.call("GET", "/api/tasks", { token: MASTER })).status).toBe(200);
    expect(spy).toHaveBeenCalledWith(MASTER, MASTER);

    // Agent token: looked up by its SHA-256, then the stored hash is re-checked in constant time.
    const minted = await t.call("POST", "/api/tokens", {
      token: MASTER,
      body: { agent_id: "w1", role: "worker" },
    });
    const token: string = minted.body.token;
    spy.mockClear();
    expect((await t.call("GET", "/api/tasks", { token })).status).toBe(200);
    const tokenHash = crypto.hashToken(token);
    expect(spy).toHaveBeenCalledWith(tokenHash, tokenHash);
    // The plaintext token is never an argument of any comparison (only the master check sees the
    // raw bearer string, and that comparison hashes both sides first).
    const plaintextComparisons = spy.mock.calls.filter(
      ([a, b]) => (a === token || b === token) && b !== MASTER,
    );
    expect(plaintextComparisons).toEqual([]);

    // API key: same path.
    const key = await t.call("POST", "/api/keys", { token: MASTER, body: { name: "k", role: "worker" } });
    spy.mockClear();
    expect((await t.call("GET", "/api/tasks", { token: key.body.key })).status).toBe(200);
    const keyHash = crypto.hashToken(key.body.key);
    expect(spy).toHaveBeenCalledWith(keyHash, keyHash);

    // Session cookie and CSRF token: hashes compared in constant time.
    const user = await t.call("POST", "/api/users", {
      token: MASTER,
      body: { username: "ct", password: "ct-password-123", role: "user" },
    });
    const session = openSession(t.hub, user.body.user.id);
    spy.mockClear();
    expect(
      (
        await t.call("POST", "/api/tasks", {
          session,
          body: { title: "t", prompt: "p", required_capability: "echo" },
        })
      ).status,
    ).toBe(201);
    const sessionHash = crypto.hashToken(session.id);
    const csrfHash = crypto.hashToken(session.csrf);
    expect(spy).toHaveBeenCalledWith(sessionHash, sessionHash);
    expect(spy).toHaveBeenCalledWith(csrfHash, csrfHash);
  });

  test("a token one character off is refused; no stored column holds a plaintext secret", async ({ t }) => {
    const minted = await t.call("POST", "/api/tokens", {
      token: MASTER,
      body: { agent_id: "w1", role: "worker" },
    });
    const token: string = minted.body.token;
    const last = token.at(-1) === "A" ? "B" : "A";
    const forged = `${token.slice(0, -1)}${last}`;
    expect((await t.call("GET", "/api/tasks", { token: forged })).status).toBe(401);
    expect((await t.call("GET", "/api/tasks", { token: MASTER.slice(0, -1) })).status).toBe(401);
    // Every credential table keeps digests only: the plaintext appears nowhere in the database.
    const tables = ["agent_tokens", "api_keys", "sessions", "users", "audit_log"];
    for (const table of tables) {
      const dump = JSON.stringify(t.database.sqlite.prepare(`select * from ${table}`).all());
      expect(dump, table).not.toContain(token);
    }
  });
});
