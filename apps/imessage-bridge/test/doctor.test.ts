import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatDoctor, parentChain, runDoctor } from "../src/doctor";
import { createChatDb } from "./chat-db-fixture";
import { fakeOsascript, messagesHome, OPERATOR } from "./helpers";

describe("m3shd-imessage doctor", () => {
  it("walks the real parent process chain", async () => {
    const chain = await parentChain();
    expect(chain.length).toBeGreaterThanOrEqual(2);
    expect(chain[0]?.pid).toBe(process.pid);
  });

  it("passes the Mac-side checks on a readable chat.db with Automation granted", async () => {
    const env = messagesHome("tahoe");
    const fake = fakeOsascript(env);
    const checks = await runDoctor({
      chatDbPath: env.chatDbPath,
      dataDir: env.dataDir,
      handles: [OPERATOR],
      hub: null,
    });
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(by["full disk access"]?.ok).toBe(true);
    expect(by.schema).toMatchObject({ ok: true, detail: "generation tahoe" });
    expect(by.automation?.ok).toBe(true);
    expect(by.hub).toMatchObject({ ok: false, fix: "set M3SHD_HUB" });
    // The probe script carries no arguments at all.
    expect(fake.calls()[0]?.argv).toEqual(["-"]);
  });

  it("says how to fix a missing Full Disk Access, Automation permission and schema column", async () => {
    const env = messagesHome("sequoia");
    fakeOsascript(env, {
      FAKE_OSASCRIPT_FAIL: "execution error: Not authorized to send Apple events to Messages. (-1743)",
    });
    // Root reads anything on Linux, so "permission denied" is played by a directory in chat.db's place.
    const denied = await runDoctor({
      chatDbPath: env.messagesDir,
      dataDir: env.dataDir,
      handles: [OPERATOR],
      hub: null,
    });
    const by = Object.fromEntries(denied.map((c) => [c.name, c]));
    expect(by["full disk access"]?.ok).toBe(false);
    expect(by["full disk access"]?.fix).toMatch(/Privacy & Security → Full Disk Access/);
    expect(by.automation?.fix).toMatch(/Automation: allow .* to control Messages/);

    const bad = createChatDb(join(env.root, "Library"), "sequoia", { drop: ["is_from_me"] });
    const schema = await runDoctor({ chatDbPath: bad, dataDir: env.dataDir, handles: [OPERATOR], hub: null });
    const s = schema.find((c) => c.name === "schema");
    expect(s?.ok).toBe(false);
    expect(s?.detail).toMatch(/message\.is_from_me/);
    expect(formatDoctor(schema)).toMatch(/✗ schema: .*\n {4}fix: /);
  });
});
