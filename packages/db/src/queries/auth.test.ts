import { describe, expect } from "vitest";
import { T0, dbTest as test } from "../test-fixture";
import {
  findActiveAgentTokenByHash,
  findActiveApiKeyByHash,
  findLiveSession,
  getApiKey,
  hasActiveCredentialWithPermission,
  insertAgentToken,
  insertApiKey,
  insertAuditEntry,
  insertSession,
  insertUser,
  listAuditEntries,
  recordApiKeyUsage,
  revokeAgentToken,
  revokeApiKey,
  revokeSessions,
  updateUser,
} from "./auth";

const hash = (c: string) => c.repeat(64);

describe("agent tokens and API keys", () => {
  test("are found by hash only while unrevoked; revoking twice changes nothing", ({ database: { db } }) => {
    insertAgentToken(db, {
      id: "tok_1",
      agentId: "w1",
      tokenHash: hash("a"),
      prefix: "m3shd_ag_abc",
      permissions: ["tasks:read"],
      createdBy: "master",
      now: T0,
    });
    expect(findActiveAgentTokenByHash(db, hash("a"))?.agentId).toBe("w1");
    expect(findActiveAgentTokenByHash(db, hash("b"))).toBeUndefined();
    expect(revokeAgentToken(db, { id: "tok_1", now: T0 + 1 })?.revokedAt).toBe(T0 + 1);
    expect(revokeAgentToken(db, { id: "tok_1", now: T0 + 2 })).toBeUndefined();
    expect(findActiveAgentTokenByHash(db, hash("a"))).toBeUndefined();
  });

  test("know whether a live credential holds a permission", ({ database: { db } }) => {
    expect(hasActiveCredentialWithPermission(db, "admin:tokens")).toBe(false);
    insertApiKey(db, {
      id: "key_1",
      name: "k",
      keyHash: hash("c"),
      prefix: "m3shd_key_abc",
      permissions: ["tasks:read", "admin:tokens"],
      perMinute: null,
      perDay: 10,
      createdBy: null,
      now: T0,
    });
    expect(hasActiveCredentialWithPermission(db, "admin:tokens")).toBe(true);
    expect(hasActiveCredentialWithPermission(db, "admin:users")).toBe(false);
    revokeApiKey(db, { id: "key_1", now: T0 });
    expect(hasActiveCredentialWithPermission(db, "admin:tokens")).toBe(false);
    expect(findActiveApiKeyByHash(db, hash("c"))).toBeUndefined();
  });

  test("count usage per UTC day, restarting the daily count when the day changes", ({ database: { db } }) => {
    insertApiKey(db, {
      id: "key_2",
      name: "k",
      keyHash: hash("d"),
      prefix: "p",
      permissions: [],
      perMinute: 5,
      perDay: null,
      createdBy: null,
      now: T0,
    });
    recordApiKeyUsage(db, { id: "key_2", day: "2026-11-25", now: T0 });
    recordApiKeyUsage(db, { id: "key_2", day: "2026-11-25", now: T0 + 1 });
    recordApiKeyUsage(db, { id: "key_2", day: "2026-11-26", now: T0 + 2 });
    expect(getApiKey(db, "key_2")).toMatchObject({
      requestsTotal: 3,
      requestsToday: 1,
      usageDay: "2026-11-26",
      lastUsedAt: T0 + 2,
    });
  });
});

describe("sessions", () => {
  test("are live until they expire, are revoked or their user is disabled", ({ database: { db } }) => {
    insertUser(db, { id: "usr_1", username: "u", passwordHash: "x", role: "viewer", now: T0 });
    const session = (idHash: string) =>
      insertSession(db, {
        idHash,
        userId: "usr_1",
        csrfTokenHash: hash("f"),
        expiresAt: T0 + 1000,
        ip: null,
        userAgent: null,
        now: T0,
      });
    session(hash("1"));
    session(hash("2"));
    expect(findLiveSession(db, { idHash: hash("1"), now: T0 + 999 })?.user.id).toBe("usr_1");
    expect(findLiveSession(db, { idHash: hash("1"), now: T0 + 1000 })).toBeUndefined();
    updateUser(db, { id: "usr_1", set: { disabledAt: T0 }, now: T0 });
    expect(findLiveSession(db, { idHash: hash("1"), now: T0 })).toBeUndefined();
    updateUser(db, { id: "usr_1", set: { disabledAt: null }, now: T0 });
    expect(revokeSessions(db, { userId: "usr_1", now: T0 })).toBe(2);
    expect(findLiveSession(db, { idHash: hash("2"), now: T0 })).toBeUndefined();
  });
});

describe("audit log", () => {
  test("pages newest first and filters by action prefix without LIKE wildcards", ({ database: { db } }) => {
    const actions = [
      "POST /api/tasks 201",
      "POST /api/tasks 401",
      "POST /api/tokens 201",
      "POST /api/t%s 200",
    ];
    actions.forEach((action, i) => {
      insertAuditEntry(db, {
        id: `aud_${i}`,
        actor: "master",
        action,
        target: null,
        ts: T0 + i,
        ip: null,
        payloadSha256: null,
      });
    });
    const tasks = listAuditEntries(db, { actionPrefix: "POST /api/tasks", limit: 10 });
    expect(tasks.items.map((e) => e.id)).toEqual(["aud_1", "aud_0"]);
    expect(listAuditEntries(db, { actionPrefix: "POST /api/t%", limit: 10 }).items.map((e) => e.id)).toEqual([
      "aud_3",
    ]);
    const first = listAuditEntries(db, { limit: 3 });
    expect(first.items.map((e) => e.id)).toEqual(["aud_3", "aud_2", "aud_1"]);
    const rest = listAuditEntries(db, { limit: 3, cursor: first.nextCursor });
    expect(rest.items.map((e) => e.id)).toEqual(["aud_0"]);
    expect(rest.nextCursor).toBeNull();
  });
});
