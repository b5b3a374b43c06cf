import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { describe, expect, it, onTestFinished } from "vitest";
import { backupDataDir, listBackups, pruneBackups, restoreBackup, verifyBackup } from "./backup";
import { openDatabase } from "./connection";
import { insertTask } from "./queries";

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("backupDataDir / restoreBackup", () => {
  it("snapshots every SQLite file while a writer holds it open, and restores it verified into a fresh dir", async () => {
    const data = tempDir("m3shd-backup-data-");
    const out = tempDir("m3shd-backup-out-");
    const hub = openDatabase({ path: join(data, "m3shd.db") });
    onTestFinished(() => hub.close());
    for (let i = 0; i < 50; i++) {
      insertTask(hub.db, {
        task: {
          id: `task_${String(i).padStart(26, "0")}`,
          title: `t${i}`,
          prompt: "p",
          requiredCapability: "echo",
        },
        now: 1_000 + i,
      });
    }
    // A second database (the memory service's), still open, with rows only in its WAL.
    const memory = new BetterSqlite3(join(data, "memory.db"));
    onTestFinished(() => void memory.close());
    memory.pragma("journal_mode = WAL");
    memory.exec("create table entries (id text primary key, sealed blob)");
    memory.prepare("insert into entries values (?, ?)").run("e1", Buffer.from([1, 2, 3]));
    writeFileSync(join(data, "master-token"), "m3shd_master_secret\n", { mode: 0o600 });
    writeFileSync(join(data, "notes.db"), "not a database"); // a .db that is not SQLite is skipped

    const { dir, manifest } = await backupDataDir({ dataDir: data, outDir: out });
    expect(manifest.files.map((f) => f.name)).toEqual(["m3shd.db", "memory.db"]);
    expect(manifest.files[0]?.tables?.tasks).toBe(50);
    expect(manifest.files[1]?.tables).toEqual({ entries: 1 });
    // Keys stay out unless asked: a backup holding them protects nothing.
    expect(manifest.secretsNotIncluded).toEqual(["master-token"]);
    expect(readdirSync(dir).sort()).toEqual(["m3shd.db", "manifest.json", "memory.db"]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "m3shd.db")).mode & 0o777).toBe(0o600);
    expect(verifyBackup(dir).files).toHaveLength(2);

    const fresh = join(tempDir("m3shd-backup-restore-"), "data");
    restoreBackup({ backupDir: dir, dataDir: fresh });
    const restored = openDatabase({ path: join(fresh, "m3shd.db") });
    onTestFinished(() => restored.close());
    const count = restored.sqlite.prepare("select count(*) as n from tasks").get() as { n: number };
    expect(count.n).toBe(50);
    const again = new BetterSqlite3(join(fresh, "memory.db"), { readonly: true });
    onTestFinished(() => void again.close());
    expect(again.prepare("select sealed from entries where id = 'e1'").get()).toEqual({
      sealed: Buffer.from([1, 2, 3]),
    });

    // Restoring over live databases is refused without --force.
    expect(() => restoreBackup({ backupDir: dir, dataDir: data })).toThrow(/--force/);
  });

  it("carries the secret files when asked, and refuses a tampered backup", async () => {
    const data = tempDir("m3shd-backup-data-");
    const out = tempDir("m3shd-backup-out-");
    openDatabase({ path: join(data, "m3shd.db") }).close();
    writeFileSync(join(data, "memory-kek"), "m3shd-kek-v1:abc\n", { mode: 0o600 });
    writeFileSync(join(data, "memory-recovery.key"), "offline only\n", { mode: 0o600 });
    const { dir, manifest } = await backupDataDir({ dataDir: data, outDir: out, withSecrets: true });
    expect(manifest.files.map((f) => f.name)).toEqual(["m3shd.db", "memory-kek"]);
    expect(readdirSync(dir)).not.toContain("memory-recovery.key");
    appendFileSync(join(dir, "m3shd.db"), Buffer.from([0]));
    expect(() => verifyBackup(dir)).toThrow(/checksum/);
    expect(() => restoreBackup({ backupDir: dir, dataDir: tempDir("m3shd-x-") })).toThrow(/checksum/);
  });

  it("keeps the newest N backups", async () => {
    const data = tempDir("m3shd-backup-data-");
    const out = tempDir("m3shd-backup-out-");
    openDatabase({ path: join(data, "m3shd.db") }).close();
    for (let i = 0; i < 4; i++)
      await backupDataDir({ dataDir: data, outDir: out, now: new Date(Date.UTC(2026, 0, 1, i)) });
    expect(listBackups(out)).toHaveLength(4);
    const pruned = pruneBackups(out, 2);
    expect(pruned.map((p) => p.slice(-16))).toEqual(["20260101T000000Z", "20260101T010000Z"]);
    expect(listBackups(out)).toHaveLength(2);
  });
});
