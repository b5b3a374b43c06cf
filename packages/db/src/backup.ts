import { createHash, randomBytes } from "node:crypto";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, join, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";

/**
 * Backups of a data directory: every SQLite file in it (the hub's `m3shd.db`, the memory
 * service's `memory.db`, any later one) copied with SQLite's online backup API — a consistent
 * snapshot taken while the services run and write (WAL), page by page, never a torn file copy —
 * plus a manifest with each file's checksum, integrity check and per-table row counts, which
 * `restoreBackup` checks again on the way back. Schema-agnostic on purpose: a table added later
 * (the ledger) is backed up and verified without a change here.
 */

export const BACKUP_FORMAT = "m3shd-backup/1";
export const MANIFEST_FILE = "manifest.json";
/** Written into the backup root after every successful scheduled run: its age is the health check. */
export const LATEST_FILE = "latest.json";
const BACKUP_PREFIX = "m3shd-backup-";

/**
 * Secret files a data directory may hold (generated on first run when not given by the
 * environment). Left out unless asked (`withSecrets`): a backup that carries the memory KEK next to
 * the memory database protects nothing, so by default keys are kept — and restored — separately.
 * `memory-recovery.key` is never copied: it belongs offline.
 */
export const DATA_DIR_SECRET_FILES = [
  "master-token",
  "provenance.key",
  "admin-password",
  "memory-kek",
  "memory-service-token",
  "memory-recovery.pub",
] as const;

export interface BackupFileRecord {
  name: string;
  kind: "sqlite" | "secret";
  bytes: number;
  sha256: string;
  /** SQLite files: rows per table at the snapshot (FTS shadow tables included). */
  tables?: Record<string, number>;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  /** ISO 8601. */
  createdAt: string;
  /** The data directory the snapshot was taken from. */
  sourceDir: string;
  files: BackupFileRecord[];
  /** Secret files present in the data directory and not in this backup (restore them from your secret store). */
  secretsNotIncluded: string[];
}

export interface BackupResult {
  dir: string;
  manifest: BackupManifest;
}

const sha256File = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** The SQLite files of a data directory: `*.db` whose header says SQLite (`-wal`/`-shm` are not databases). */
export function sqliteFilesIn(dataDir: string): string[] {
  return readdirSync(dataDir)
    .filter((name) => name.endsWith(".db"))
    .filter((name) => {
      const header = Buffer.alloc(16);
      const fd = openSync(join(dataDir, name), "r");
      try {
        readSync(fd, header, 0, 16, 0);
      } finally {
        closeSync(fd);
      }
      return header.toString("latin1").startsWith("SQLite format 3");
    })
    .sort();
}

/** Rows per table, and whether `PRAGMA integrity_check` says ok. */
export function inspectSqlite(path: string): { ok: boolean; tables: Record<string, number> } {
  const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
  try {
    const check = db.pragma("integrity_check", { simple: true });
    const names = (
      db
        .prepare(
          "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name",
        )
        .all() as { name: string }[]
    ).map((r) => r.name);
    const tables: Record<string, number> = {};
    for (const name of names) {
      // Names come from sqlite_master of a file we just wrote, quoted as identifiers.
      const row = db.prepare(`select count(*) as n from "${name.replaceAll('"', '""')}"`).get() as {
        n: number;
      };
      tables[name] = row.n;
    }
    return { ok: check === "ok", tables };
  } finally {
    db.close();
  }
}

function stamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/**
 * Snapshots every SQLite file of `dataDir` into a new directory under `outDir`
 * (`m3shd-backup-<UTC time>`), verified (integrity check, row counts) and described by a
 * manifest. Safe while the services run. Written under a temporary name and renamed when
 * complete, so a crash never leaves something that looks like a backup.
 */
export async function backupDataDir(options: {
  dataDir: string;
  outDir: string;
  withSecrets?: boolean;
  now?: Date;
}): Promise<BackupResult> {
  const dataDir = resolve(options.dataDir);
  const now = options.now ?? new Date();
  const databases = sqliteFilesIn(dataDir);
  if (databases.length === 0) throw new Error(`No SQLite database in ${dataDir}`);
  mkdirSync(options.outDir, { recursive: true, mode: 0o700 });
  let name = `${BACKUP_PREFIX}${stamp(now)}`;
  if (existsSync(join(options.outDir, name))) name = `${name}-${randomBytes(3).toString("hex")}`;
  const final = join(resolve(options.outDir), name);
  const partial = `${final}.partial`;
  mkdirSync(partial, { mode: 0o700 });
  try {
    const files: BackupFileRecord[] = [];
    for (const db of databases) {
      const dest = join(partial, db);
      const source = new BetterSqlite3(join(dataDir, db), { fileMustExist: true });
      try {
        // SQLite's online backup: a consistent snapshot even while other processes write.
        await source.backup(dest);
      } finally {
        source.close();
      }
      // The copy is a lone file: rollback-journal mode, so opening it (verify, restore checks)
      // never leaves -wal/-shm beside it. The services switch it back to WAL when they open it.
      const copy = new BetterSqlite3(dest, { fileMustExist: true });
      try {
        copy.pragma("journal_mode = DELETE");
      } finally {
        copy.close();
      }
      chmodSync(dest, 0o600);
      const inspected = inspectSqlite(dest);
      if (!inspected.ok) throw new Error(`The snapshot of ${db} fails its integrity check`);
      files.push({
        name: db,
        kind: "sqlite",
        bytes: statSync(dest).size,
        sha256: sha256File(dest),
        tables: inspected.tables,
      });
    }
    const secretsPresent = DATA_DIR_SECRET_FILES.filter((s) => existsSync(join(dataDir, s)));
    if (options.withSecrets) {
      for (const secret of secretsPresent) {
        const dest = join(partial, secret);
        copyFileSync(join(dataDir, secret), dest);
        chmodSync(dest, 0o600);
        files.push({ name: secret, kind: "secret", bytes: statSync(dest).size, sha256: sha256File(dest) });
      }
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      createdAt: now.toISOString(),
      sourceDir: dataDir,
      files,
      secretsNotIncluded: options.withSecrets ? [] : secretsPresent,
    };
    writeFileSync(join(partial, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    renameSync(partial, final);
    return { dir: final, manifest };
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw err;
  }
}

/** Reads and checks a backup: its manifest, every file's checksum, and each database's integrity and row counts. */
export function verifyBackup(backupDir: string): BackupManifest {
  const manifestPath = join(backupDir, MANIFEST_FILE);
  if (!existsSync(manifestPath)) throw new Error(`${backupDir} has no ${MANIFEST_FILE}: not an m3shd backup`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as BackupManifest;
  if (manifest.format !== BACKUP_FORMAT) throw new Error(`Unknown backup format ${String(manifest.format)}`);
  for (const file of manifest.files) {
    // A manifest names files inside the backup, never a path elsewhere.
    if (basename(file.name) !== file.name) throw new Error(`Bad file name in the manifest: ${file.name}`);
    const path = join(backupDir, file.name);
    if (!existsSync(path)) throw new Error(`${file.name} is missing from the backup`);
    if (sha256File(path) !== file.sha256) throw new Error(`${file.name} does not match its checksum`);
    if (file.kind === "sqlite") {
      const inspected = inspectSqlite(path);
      if (!inspected.ok) throw new Error(`${file.name} fails its integrity check`);
      if (JSON.stringify(inspected.tables) !== JSON.stringify(file.tables))
        throw new Error(`${file.name}: row counts differ from the manifest`);
    }
  }
  return manifest;
}

/**
 * Restores a verified backup into `dataDir` (created if needed, 0700). Refuses to replace an
 * existing database unless `force` — and then the services must be stopped, since a running
 * process would keep writing through its open handle to the replaced file. Each file is copied
 * under a temporary name and renamed, and stale `-wal`/`-shm` files of a replaced database are
 * removed (SQLite would otherwise replay a WAL that belongs to the old file). The restored files
 * are verified again before returning.
 */
export function restoreBackup(options: {
  backupDir: string;
  dataDir: string;
  force?: boolean;
}): BackupManifest {
  const manifest = verifyBackup(options.backupDir);
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const clashes = manifest.files.filter((f) => existsSync(join(dataDir, f.name))).map((f) => f.name);
  if (clashes.length > 0 && !options.force) {
    throw new Error(
      `${dataDir} already holds ${clashes.join(", ")}: stop the services and pass --force to replace`,
    );
  }
  for (const file of manifest.files) {
    const dest = join(dataDir, file.name);
    const tmp = `${dest}.restore-${randomBytes(4).toString("hex")}`;
    copyFileSync(join(options.backupDir, file.name), tmp);
    chmodSync(tmp, 0o600);
    if (file.kind === "sqlite")
      for (const suffix of ["-wal", "-shm"]) rmSync(`${dest}${suffix}`, { force: true });
    renameSync(tmp, dest);
    if (sha256File(dest) !== file.sha256) throw new Error(`${file.name} was not restored intact`);
    if (file.kind === "sqlite") {
      const inspected = inspectSqlite(dest);
      if (!inspected.ok || JSON.stringify(inspected.tables) !== JSON.stringify(file.tables))
        throw new Error(`${file.name}: the restored database differs from the backup`);
    }
  }
  return manifest;
}

/** The backups under `outDir`, oldest first. */
export function listBackups(outDir: string): string[] {
  if (!existsSync(outDir)) return [];
  return readdirSync(outDir)
    .filter((n) => n.startsWith(BACKUP_PREFIX) && !n.endsWith(".partial"))
    .filter((n) => existsSync(join(outDir, n, MANIFEST_FILE)))
    .sort()
    .map((n) => join(outDir, n));
}

/** Deletes all but the newest `keep` backups under `outDir`; returns the deleted ones. */
export function pruneBackups(outDir: string, keep: number): string[] {
  const all = listBackups(outDir);
  const doomed = all.slice(0, Math.max(0, all.length - Math.max(1, keep)));
  for (const dir of doomed) rmSync(dir, { recursive: true, force: true });
  return doomed;
}
