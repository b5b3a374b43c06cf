#!/usr/bin/env node
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { backupDataDir, LATEST_FILE, listBackups, pruneBackups, restoreBackup, verifyBackup } from "./backup";

/**
 * `m3shd-backup`: backups of a data directory's SQLite files (hub and memory) with SQLite's online
 * backup API. The operator's `m3shd backup` / `m3shd restore` (issue 18's CLI) are meant to call
 * the same functions; until then this is the command. Logs are one JSON line per event.
 */
const USAGE = `Usage:
  m3shd-backup backup   [--data DIR] [--out DIR] [--keep N] [--with-secrets]
  m3shd-backup schedule [--data DIR] [--out DIR] [--keep N] [--every SECONDS]
  m3shd-backup restore  <backup-dir> [--data DIR] [--force]
  m3shd-backup verify   <backup-dir>
  m3shd-backup list     [--out DIR]

  --data  data directory (default $M3SHD_DATA_DIR, else ./data)
  --out   where backups go (default $M3SHD_BACKUP_DIR, else ./backups)
  --keep  keep the newest N backups (default 24)
  --every seconds between scheduled backups (default 3600); the first runs at once
  --with-secrets  also copy the secret files of the data dir (never the recovery private key)
  --force restore over existing databases (stop the services first)`;

function log(level: "info" | "error", msg: string, extra: Record<string, unknown> = {}) {
  const line = `${JSON.stringify({ level, time: Date.now(), service: "backup", msg, ...extra })}\n`;
  (level === "error" ? process.stderr : process.stdout).write(line);
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      data: { type: "string" },
      out: { type: "string" },
      keep: { type: "string" },
      every: { type: "string" },
      "with-secrets": { type: "boolean" },
      force: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, target] = positionals;
  if (values.help || !command) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const dataDir = values.data ?? process.env.M3SHD_DATA_DIR ?? "./data";
  const outDir = values.out ?? process.env.M3SHD_BACKUP_DIR ?? "./backups";
  const keep = Number(values.keep ?? 24);
  const every = Number(values.every ?? 3600);
  if (!Number.isInteger(keep) || keep < 1) throw new Error("--keep: expected a whole number ≥ 1");
  if (!Number.isFinite(every) || every < 1) throw new Error("--every: expected seconds ≥ 1");

  const once = async () => {
    const { dir, manifest } = await backupDataDir({
      dataDir,
      outDir,
      withSecrets: values["with-secrets"] ?? false,
    });
    const pruned = pruneBackups(outDir, keep);
    writeFileSync(join(outDir, LATEST_FILE), `${JSON.stringify({ at: Date.now(), dir })}\n`, { mode: 0o600 });
    log("info", "backup written", {
      dir,
      files: manifest.files.map((f) => ({ name: f.name, bytes: f.bytes })),
      secretsNotIncluded: manifest.secretsNotIncluded,
      pruned: pruned.length,
    });
  };

  switch (command) {
    case "backup":
      await once();
      return 0;
    case "schedule": {
      await once();
      log("info", "backups scheduled", { everyS: every, keep, outDir });
      // One run at a time: a slow backup delays the next instead of overlapping it.
      let timer: NodeJS.Timeout;
      const next = () => {
        timer = setTimeout(() => {
          once()
            .catch((err: unknown) => log("error", "backup failed", { err: (err as Error).message }))
            .finally(next);
        }, every * 1000);
      };
      next();
      await new Promise<void>((resolve) => {
        for (const signal of ["SIGTERM", "SIGINT"] as const)
          process.once(signal, () => {
            clearTimeout(timer);
            resolve();
          });
      });
      return 0;
    }
    case "restore": {
      if (!target) throw new Error("restore: which backup? (a directory from `m3shd-backup list`)");
      const manifest = restoreBackup({ backupDir: target, dataDir, force: values.force ?? false });
      log("info", "backup restored", {
        from: target,
        dataDir,
        files: manifest.files.map((f) => f.name),
        secretsNotIncluded: manifest.secretsNotIncluded,
      });
      return 0;
    }
    case "verify": {
      if (!target) throw new Error("verify: which backup?");
      const manifest = verifyBackup(target);
      log("info", "backup verified", {
        dir: target,
        createdAt: manifest.createdAt,
        files: manifest.files.length,
      });
      return 0;
    }
    case "list":
      for (const dir of listBackups(outDir)) process.stdout.write(`${dir}\n`);
      return 0;
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    log("error", err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
