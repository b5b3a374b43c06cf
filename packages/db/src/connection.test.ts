import { existsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect } from "vitest";
import { openDatabase } from "./connection";
import { dbTest } from "./test-fixture";

describe("openDatabase", () => {
  dbTest("sets WAL, foreign keys, busy_timeout and synchronous=NORMAL", ({ database }) => {
    const { sqlite } = database;
    expect(sqlite.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(sqlite.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(sqlite.pragma("busy_timeout", { simple: true })).toBe(5000);
    expect(sqlite.pragma("synchronous", { simple: true })).toBe(1); // 1 = NORMAL
  });

  dbTest("takes a custom busy timeout", ({ dbDir }) => {
    const opened = openDatabase({ path: join(dbDir, "custom.db"), busyTimeoutMs: 1234 });
    expect(opened.sqlite.pragma("busy_timeout", { simple: true })).toBe(1234);
    opened.close();
    expect(() => openDatabase({ path: join(dbDir, "bad.db"), busyTimeoutMs: -1 })).toThrow(RangeError);
  });

  dbTest("creates missing parent directories", ({ dbDir }) => {
    const path = join(dbDir, "a", "b", "c", "m3shd.db");
    const opened = openDatabase({ path });
    expect(existsSync(path)).toBe(true);
    opened.close();
  });

  dbTest("creates the data dir 0700 and the file, WAL and SHM 0600 whatever the umask", ({ dbDir }) => {
    const previous = process.umask(0o022);
    try {
      const dir = join(dbDir, "data");
      const path = join(dir, "m3shd.db");
      const opened = openDatabase({ path });
      opened.sqlite.prepare("INSERT INTO context (key, value, set_by) VALUES ('k', '1', 't')").run();
      const mode = (p: string) => statSync(p).mode & 0o777;
      expect(mode(dir)).toBe(0o700);
      expect(mode(path)).toBe(0o600);
      expect(mode(`${path}-wal`)).toBe(0o600);
      expect(mode(`${path}-shm`)).toBe(0o600);
      opened.close();
      // A file left world-readable by an older version is tightened on open.
      const old = join(dbDir, "old.db");
      writeFileSync(old, "", { mode: 0o644 });
      openDatabase({ path: old }).close();
      expect(mode(old)).toBe(0o600);
    } finally {
      process.umask(previous);
    }
  });

  dbTest("can skip migrations", ({ dbDir }) => {
    const opened = openDatabase({ path: join(dbDir, "bare.db"), migrate: false });
    expect(opened.sqlite.prepare("SELECT count(*) AS n FROM sqlite_master").get()).toEqual({ n: 0 });
    opened.close();
  });

  dbTest("opens read-only: reads work, writes are refused, nothing migrates", ({ database, dbDir }) => {
    database.sqlite.prepare("INSERT INTO context (key, value, set_by) VALUES ('k', '1', 'test')").run();
    const reader = openDatabase({ path: join(dbDir, "m3shd.db"), readonly: true });
    expect(reader.sqlite.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(reader.sqlite.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(reader.sqlite.prepare("SELECT value FROM context").get()).toEqual({ value: "1" });
    expect(() => reader.sqlite.prepare("DELETE FROM context").run()).toThrow(/readonly/);
    reader.close();
    expect(() => openDatabase({ path: join(dbDir, "missing.db"), readonly: true })).toThrow();
    expect(() => openDatabase({ path: join(dbDir, "m3shd.db"), readonly: true, migrate: true })).toThrow(
      /read-only/,
    );
  });

  dbTest("close() is idempotent", ({ dbDir }) => {
    const opened = openDatabase({ path: join(dbDir, "close.db") });
    opened.close();
    opened.close();
    expect(opened.sqlite.open).toBe(false);
  });

  dbTest("two connections to one file see each other's writes (WAL)", ({ database, dbDir }) => {
    const second = openDatabase({ path: join(dbDir, "m3shd.db") });
    database.sqlite.prepare("INSERT INTO context (key, value, set_by) VALUES ('shared', '2', 'test')").run();
    expect(second.sqlite.prepare("SELECT value FROM context WHERE key = 'shared'").get()).toEqual({
      value: "2",
    });
    second.close();
  });
});
