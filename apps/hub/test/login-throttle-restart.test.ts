import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorBodySchema } from "@m3shd/protocol";
import { describe, expect, it, onTestFinished } from "vitest";
import { MASTER, startTestHub, T0 } from "./security-fixture";

describe("login throttling without Redis", () => {
  it("survives a hub restart on the same database file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "m3shd-throttle-"));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const dbPath = join(dir, "m3shd.db");
    const clock = { now: T0 + 12 * 3600_000 + 10_000 };
    const from = { incoming: { socket: { remoteAddress: "10.9.9.9" } } };
    const login = (t: Awaited<ReturnType<typeof startTestHub>>, password: string) =>
      t.call("POST", "/api/auth/login", { body: { username: "rita", password }, env: from });

    const first = await startTestHub({ dbPath, clock });
    expect(first.hub.limits.store).toBe("memory");
    const user = await first.call("POST", "/api/users", {
      token: MASTER,
      body: { username: "rita", password: "rita-password-12", role: "user" },
    });
    expect(user.status, user.text).toBe(201);
    for (let i = 1; i <= 5; i++) expect((await login(first, `wrong-${i}`)).status).toBe(401);
    expect((await login(first, "wrong-6")).status).toBe(429);
    // The hub goes away (deploy, crash) and a new one opens the same file.
    first.hub.close();
    first.database.close();

    const second = await startTestHub({ dbPath, clock });
    const res = await login(second, "rita-password-12");
    expect(res.status, res.text).toBe(429);
    expect(ErrorBodySchema.parse(res.body).error.code).toBe("rate_limited");
    // The window still ends when it did.
    clock.now = T0 + 12 * 3600_000 + 300_000;
    expect((await login(second, "rita-password-12")).status).toBe(200);
  });
});
