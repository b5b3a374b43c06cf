import { readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { runKeyCommand } from "../src/cli";
import { generateKek, parseKek } from "../src/crypto/kek";
import { parseMemoryEnv } from "../src/env";
import { loadMemorySecrets, memorySecretPaths, readKekFile } from "../src/secrets";
import { createMemoryService } from "../src/service";
import { tempDir } from "./helpers";

function cli(dir: string) {
  const env = parseMemoryEnv({ M3SHD_DATA_DIR: dir, M3SHD_LOG_LEVEL: "silent" });
  const out: string[] = [];
  const err: string[] = [];
  const run = (...args: string[]) =>
    runKeyCommand(args, env, {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      logger: pino({ level: "silent" }),
    });
  return { env, out, err, run };
}

function openFromDir(dir: string) {
  const secrets = loadMemorySecrets(dir, {});
  return createMemoryService({
    dbPath: join(dir, "memory.db"),
    kek: secrets.kek,
    recoveryPublicKey: secrets.recoveryPublicKey,
  });
}

describe("secrets and key commands", () => {
  it("generates 0600 secret files on first run and reuses them after", () => {
    const dir = tempDir();
    const first = loadMemorySecrets(dir, {});
    const paths = memorySecretPaths(dir);
    for (const file of [
      paths.kekFile,
      paths.recoveryPublicKeyFile,
      paths.recoveryPrivateKeyFile,
      paths.serviceTokenFile,
    ]) {
      expect(statSync(file).mode & 0o777, file).toBe(0o600);
    }
    expect(first.generatedRecoveryPrivateKeyFile).toBe(paths.recoveryPrivateKeyFile);
    const service = openFromDir(dir);
    service.store({ agentId: "alpha", key: "k", value: "v" });
    for (const file of ["memory.db", "memory.db-wal", "memory.db-shm"]) {
      expect(statSync(join(dir, file)).mode & 0o777, file).toBe(0o600);
    }
    service.close();
    expect(first.serviceToken.length).toBeGreaterThanOrEqual(32);
    const second = loadMemorySecrets(dir, {});
    expect(second).toMatchObject({
      kek: first.kek,
      serviceToken: first.serviceToken,
      generatedRecoveryPrivateKeyFile: null,
    });
    const fromEnv = loadMemorySecrets(tempDir(), {
      M3SHD_MEMORY_KEK: `${generateKek()},${generateKek()}`,
      M3SHD_MEMORY_RECOVERY_PUBLIC_KEY: "none",
      M3SHD_MEMORY_SERVICE_TOKEN: "x".repeat(32),
    });
    expect(fromEnv).toMatchObject({ kekFile: null, recoveryPublicKey: null, serviceTokenFile: null });
    expect(fromEnv.kek).toHaveLength(2);
  });

  it("add → restart → rotate → retire, through the CLI, keeps every memory readable", async () => {
    const dir = tempDir();
    const before = openFromDir(dir);
    before.store({ agentId: "alpha", key: "k", value: "kept across rotation" });
    before.close();
    const oldId = parseKek(readKekFile(memorySecretPaths(dir).kekFile)[0] as string).id;

    const { run, out } = cli(dir);
    expect(await run("kek", "add")).toBe(0);
    const ring = readKekFile(memorySecretPaths(dir).kekFile);
    expect(ring).toHaveLength(2);
    expect(parseKek(ring[1] as string).id).toBe(oldId);
    expect(await run("kek", "retire", oldId)).not.toBe(0); // still wraps alpha's key
    expect(await run("kek", "rotate")).toBe(0);
    expect(await run("kek", "retire", oldId)).toBe(0);
    expect(readKekFile(memorySecretPaths(dir).kekFile)).toEqual([ring[0]]);
    expect(await run("kek", "status")).toBe(0);
    const status = JSON.parse(out.at(-1) ?? "{}") as { keks: { id: string; retiredAt: number | null }[] };
    expect(status.keks.find((k) => k.id === oldId)?.retiredAt).toEqual(expect.any(Number));

    const after = openFromDir(dir);
    expect(after.get("alpha", "k")?.value).toBe("kept across rotation");
    after.close();
  });

  it("recovers from a lost KEK file with the offline recovery key", async () => {
    const dir = tempDir();
    const paths = memorySecretPaths(dir);
    const before = openFromDir(dir);
    before.store({ agentId: "alpha", key: "k", value: "survives KEK loss" });
    before.close();
    // The operator moved the private key offline (here: kept its text) and then lost the KEK file.
    const offline = join(tempDir(), "recovery.key");
    const privateKey = readFileSync(paths.recoveryPrivateKeyFile, "utf8");
    unlinkSync(paths.recoveryPrivateKeyFile);
    unlinkSync(paths.kekFile);
    writeFileSync(offline, privateKey, { mode: 0o600 });

    const lost = openFromDir(dir); // creates a fresh KEK file
    expect(() => lost.get("alpha", "k")).toThrow(/not loaded/);
    lost.close();
    const { run, out } = cli(dir);
    expect(await run("kek", "recover", offline)).toBe(0);
    expect(JSON.parse(out.at(-1) ?? "{}")).toEqual({ recovered: 1, failed: [] });
    const after = openFromDir(dir);
    expect(after.get("alpha", "k")?.value).toBe("survives KEK loss");
    expect(after.keyStatus().missingKekIds).toEqual([]);
    after.close();
  });

  it("prints usage for unknown commands and generates keys", async () => {
    const { run, out, err } = cli(tempDir());
    expect(await run("kek")).toBe(2);
    expect(await run("nope", "x")).toBe(2);
    expect(err.join("\n")).toContain("Usage");
    expect(await run("kek", "generate")).toBe(0);
    expect(() => parseKek(out.at(-1) ?? "")).not.toThrow();
    expect(await run("recovery", "generate")).toBe(0);
    expect(out.join("\n")).toContain("m3shd-mrk-sec-v1:");
  });

  it("parses the environment with defaults and refuses bad values", () => {
    expect(parseMemoryEnv({})).toMatchObject({
      M3SHD_MEMORY_PORT: 7710,
      M3SHD_MEMORY_CONSOLIDATE_EVERY_S: 86_400,
    });
    expect(() => parseMemoryEnv({ M3SHD_MEMORY_PORT: "99999" })).toThrow(/M3SHD_MEMORY_PORT/);
    expect(() => parseMemoryEnv({ M3SHD_MEMORY_SERVICE_TOKEN: "short" })).toThrow(/SERVICE_TOKEN/);
  });
});
