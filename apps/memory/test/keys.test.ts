import { join } from "node:path";
import { isM3shdError } from "@m3shd/protocol";
import Database from "better-sqlite3";
import { describe, expect, it, onTestFinished } from "vitest";
import { generateKek, parseKek } from "../src/crypto/kek";
import { generateRecoveryKeyPair } from "../src/crypto/recovery";
import { createMemoryService, type MemoryService, type MemoryServiceOptions } from "../src/service";
import { tempDir } from "./helpers";

const AGENTS = ["alpha", "beta", "gamma"];

function open(
  dbPath: string,
  kek: string | string[],
  extra: Partial<MemoryServiceOptions> = {},
): MemoryService {
  const service = createMemoryService({ dbPath, kek, ...extra });
  onTestFinished(() => service.close());
  return service;
}

/** Writes 20 memories per agent, plus a cross-agent pattern and a merge record via consolidation. */
async function seed(service: MemoryService): Promise<Map<string, string>> {
  const expected = new Map<string, string>();
  for (const agent of AGENTS) {
    for (let i = 0; i < 20; i++) {
      const value = `${agent} remembers harbor lighthouse number ${i}`;
      service.store({ agentId: agent, key: `fact ${i}`, value, tags: [`batch:${i % 3}`] });
      expected.set(`${agent}/fact ${i}`, value);
    }
    service.store({ agentId: agent, key: "shared", value: "the staging cluster is blue" });
    expected.set(`${agent}/shared`, "the staging cluster is blue");
  }
  service.store({ agentId: "alpha", key: "dup_key", value: "same" });
  service.store({ agentId: "alpha", key: "dup key", value: "same" });
  const result = await service.consolidate();
  expect(result.patterns).toBe(1);
  expect(result.duplicates).toBe(1);
  expected.set("alpha/dup key", "same");
  return expected;
}

function expectAllReadable(service: MemoryService, expected: Map<string, string>) {
  for (const [path, value] of expected) {
    const [agent, key] = path.split("/") as [string, string];
    expect(service.get(agent, key)?.value, path).toBe(value);
  }
  for (const agent of AGENTS) {
    const hits = service.search({ agentIds: [agent], query: "lighthouse 7" }).results;
    expect(hits[0]?.entry.key).toBe("fact 7");
    expect(service.list({ agentId: agent, tag: "batch:1", limit: 500 }).entries).toHaveLength(7);
  }
  expect(service.get("_mesh", "shared")?.value).toBe("the staging cluster is blue");
  expect(service.merges("alpha").length).toBe(1);
}

function rawRows(dbPath: string) {
  const db = new Database(dbPath, { readonly: true });
  try {
    return {
      entries: db
        .prepare("SELECT agent_id, id, generation, key_blind, sealed FROM entries ORDER BY id")
        .all() as {
        agent_id: string;
        id: string;
        generation: number;
        key_blind: Buffer;
        sealed: Buffer;
      }[],
      keys: db.prepare("SELECT agent_id, generation, kek_id FROM agent_keys ORDER BY agent_id").all() as {
        agent_id: string;
        generation: number;
        kek_id: string;
      }[],
    };
  } finally {
    db.close();
  }
}

function errorCode(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    return isM3shdError(err) ? err.code : `untyped: ${(err as Error).message}`;
  }
}

describe("KEK rotation", () => {
  it("keeps every entry readable, old-KEK-only ciphertexts readable until retirement, then retires", async () => {
    const dir = tempDir();
    const dbPath = join(dir, "memory.db");
    const kek1 = generateKek();
    const kek2 = generateKek();
    const id1 = parseKek(kek1).id;
    const id2 = parseKek(kek2).id;

    const first = open(dbPath, kek1);
    const expected = await seed(first);
    first.close();
    const before = rawRows(dbPath);

    // The new KEK goes first in the ring; nothing is rotated yet: every record is old-KEK-only.
    const second = open(dbPath, [kek2, kek1]);
    expectAllReadable(second, expected);
    expect(second.keyStatus().keks.find((k) => k.id === id1)?.agentKeys).toBe(4);
    expect(errorCode(() => second.retireKek(id1))).toBe("conflict");
    expect(errorCode(() => second.retireKek(id2))).toBe("conflict"); // the primary
    // A brand-new agent's key is wrapped under the new primary.
    second.store({ agentId: "delta", key: "fresh", value: "new agent after rotation started" });
    expect(rawRows(dbPath).keys.find((k) => k.agent_id === "delta")?.kek_id).toBe(id2);

    // Rotate one agent only (an interrupted rotation looks like this): both halves stay readable.
    const partial = await second.rotate({ agentIds: ["alpha"] });
    expect(partial.failed).toEqual([]);
    expectAllReadable(second, expected);
    const mid = rawRows(dbPath);
    const alphaBefore = before.entries.filter((e) => e.agent_id === "alpha");
    for (const old of alphaBefore) {
      const now = mid.entries.find((e) => e.id === old.id);
      expect(now?.generation).toBe(old.generation + 1);
      expect(now?.sealed.equals(old.sealed)).toBe(false);
      expect(now?.key_blind.equals(old.key_blind)).toBe(false);
    }
    expect(mid.entries.filter((e) => e.agent_id === "beta")).toEqual(
      before.entries.filter((e) => e.agent_id === "beta"),
    );
    expect(errorCode(() => second.retireKek(id1))).toBe("conflict");

    // Full rotation, then retirement.
    const full = await second.rotate();
    expect(full.failed).toEqual([]);
    expect(full.entries).toBeGreaterThanOrEqual(60);
    expect(full.merges).toBeGreaterThanOrEqual(2);
    expectAllReadable(second, expected);
    second.retireKek(id1);
    const status = second.keyStatus();
    expect(status.keks.find((k) => k.id === id1)).toMatchObject({
      agentKeys: 0,
      retiredAt: expect.any(Number),
    });
    expect(rawRows(dbPath).keys.every((k) => k.kek_id === id2)).toBe(true);
    // Old generations are gone: nothing is left that the retired KEK could open.
    expect(rawRows(dbPath).keys.every((k) => k.generation >= 2 || k.agent_id === "delta")).toBe(true);
    second.close();

    // The retired KEK is no longer needed…
    const third = open(dbPath, kek2);
    expectAllReadable(third, expected);
    expect(third.get("delta", "fresh")?.value).toBe("new agent after rotation started");
    third.close();
    // …and alone it opens nothing (and may not be primary again).
    expect(() => open(dbPath, kek1)).toThrow(/retired/);
    const onlyOld = open(dbPath, [generateKek(), kek1]);
    expect(errorCode(() => onlyOld.get("alpha", "fact 1"))).toBe("unavailable");
  });

  it("re-wrap-only rotation moves agent keys to the new KEK without touching ciphertexts", async () => {
    const dir = tempDir();
    const dbPath = join(dir, "memory.db");
    const kek1 = generateKek();
    const kek2 = generateKek();
    const first = open(dbPath, kek1);
    const expected = await seed(first);
    first.close();
    const before = rawRows(dbPath);
    const second = open(dbPath, [kek2, kek1]);
    const result = await second.rotate({ reencrypt: false });
    expect(result.rewrapped).toBe(4);
    expect(rawRows(dbPath).entries).toEqual(before.entries);
    second.retireKek(parseKek(kek1).id);
    second.close();
    expectAllReadable(open(dbPath, kek2), expected);
  });
});

describe("KEK recovery", () => {
  it("recovers every agent key from the offline recovery key after all KEKs are lost", async () => {
    const dir = tempDir();
    const dbPath = join(dir, "memory.db");
    const lost = generateKek();
    const pair = generateRecoveryKeyPair();
    const first = open(dbPath, lost, { recoveryPublicKey: pair.publicKey });
    const expected = await seed(first);
    expect(first.keyStatus()).toMatchObject({ recoveryKeyId: pair.id, agentKeysWithoutRecovery: 0 });
    first.close();

    // The KEK is gone. A new one is generated; the data is unreadable, not corrupted.
    const replacement = generateKek();
    const service = open(dbPath, replacement, { recoveryPublicKey: pair.publicKey });
    expect(service.keyStatus().missingKekIds).toEqual([parseKek(lost).id]);
    expect(errorCode(() => service.get("alpha", "fact 1"))).toBe("unavailable");
    expect(errorCode(() => service.search({ agentIds: ["beta"], query: "lighthouse" }))).toBe("unavailable");

    // The wrong recovery key opens nothing and changes nothing.
    const wrong = generateRecoveryKeyPair();
    const refused = service.recover({ recoveryPrivateKey: wrong.privateKey });
    expect(refused.recovered).toBe(0);
    expect(new Set(refused.failed.map((f) => f.reason))).toEqual(new Set(["other_recovery_key"]));
    expect(errorCode(() => service.get("alpha", "fact 1"))).toBe("unavailable");

    const recovered = service.recover({ recoveryPrivateKey: pair.privateKey });
    expect(recovered).toEqual({ recovered: 4, failed: [] });
    expectAllReadable(service, expected);
    expect(service.keyStatus().missingKekIds).toEqual([]);
    service.retireKek(parseKek(lost).id);
    service.close();
    expectAllReadable(open(dbPath, replacement), expected);
  });

  it("reports keys without escrow, and a re-wrap rotation seals them to a newly configured recovery key", async () => {
    const dir = tempDir();
    const dbPath = join(dir, "memory.db");
    const kek = generateKek();
    const first = open(dbPath, kek);
    first.store({ agentId: "alpha", key: "k", value: "v" });
    first.close();
    const pair = generateRecoveryKeyPair();
    const second = open(dbPath, kek, { recoveryPublicKey: pair.publicKey });
    expect(second.keyStatus().agentKeysWithoutRecovery).toBe(1);
    expect(second.recover({ recoveryPrivateKey: pair.privateKey, all: true }).failed[0]?.reason).toBe(
      "no_escrow",
    );
    await second.rotate({ reencrypt: false });
    expect(second.keyStatus().agentKeysWithoutRecovery).toBe(0);
    second.close();
    const third = open(dbPath, generateKek(), { recoveryPublicKey: pair.publicKey });
    expect(third.recover({ recoveryPrivateKey: pair.privateKey })).toEqual({ recovered: 1, failed: [] });
    expect(third.get("alpha", "k")?.value).toBe("v");
  });

  it("restoring the KEK from its backup is enough; a wrong KEK is refused without damage", async () => {
    const dir = tempDir();
    const dbPath = join(dir, "memory.db");
    const kek = generateKek();
    const backup = `${kek}`; // what the operator kept offline
    const first = open(dbPath, kek);
    const expected = await seed(first);
    first.close();
    const wrong = open(dbPath, generateKek());
    expect(errorCode(() => wrong.list({ agentId: "alpha" }))).toBe("unavailable");
    expect(() => wrong.store({ agentId: "alpha", key: "x", value: "y" })).toThrow();
    wrong.close();
    expectAllReadable(open(dbPath, backup), expected);
  });

  it("refuses malformed keys with messages that do not echo them", () => {
    const secretish = "m3shd-kek-v1:not-a-valid-key-but-private";
    expect(() => parseKek(secretish)).toThrow(TypeError);
    try {
      parseKek(secretish);
    } catch (err) {
      expect((err as Error).message).not.toContain("private");
    }
    const dir = tempDir();
    expect(() =>
      createMemoryService({
        dbPath: join(dir, "m.db"),
        kek: generateKek(),
        recoveryPublicKey: "m3shd-mrk-pub-v1:xx",
      }),
    ).toThrow(TypeError);
  });
});
