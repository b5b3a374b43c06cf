import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { isM3shdError } from "@m3shd/protocol";
import type { Logger } from "pino";
import { generateKek, parseKek } from "./crypto/kek";
import { generateRecoveryKeyPair } from "./crypto/recovery";
import type { MemoryEnv } from "./env";
import { loadMemorySecrets, readKekFile, writeKekFile } from "./secrets";
import { createMemoryService, type MemoryService } from "./service";

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  logger: Logger;
}

const USAGE = `Usage: m3shd-memory [serve]
       m3shd-memory kek status                 KEKs, which agent keys they wrap, recovery coverage
       m3shd-memory kek generate               print a new KEK (for env-managed rings)
       m3shd-memory kek add                    put a new KEK first in the ring file (restart the service after)
       m3shd-memory kek rotate [--rewrap-only] re-encrypt every entry under new agent keys wrapped by the primary KEK
       m3shd-memory kek retire <kek-id>        retire a KEK nothing is wrapped under any more, and drop it from the ring file
       m3shd-memory kek recover <private-key-file> [--all]
                                               re-wrap agent keys whose KEK is lost, from the offline recovery key
       m3shd-memory recovery generate          print a new recovery key pair`;

function openService(env: MemoryEnv, logger: Logger): { service: MemoryService; kekFile: string | null } {
  const dataDir = resolve(env.M3SHD_DATA_DIR);
  const secrets = loadMemorySecrets(dataDir, env);
  const service = createMemoryService({
    dbPath: env.M3SHD_MEMORY_DB_PATH ?? join(dataDir, "memory.db"),
    kek: secrets.kek,
    recoveryPublicKey: secrets.recoveryPublicKey,
    logger,
  });
  return { service, kekFile: secrets.kekFile };
}

/**
 * Key-management commands (see docs/memory.md, "Rotation" and "Recovery"). Returns the exit code.
 * Safe while the service runs: every step is a transaction in the shared WAL database.
 */
export async function runKeyCommand(args: readonly string[], env: MemoryEnv, io: CliIo): Promise<number> {
  const [group, command, ...rest] = args;
  if (group === "recovery" && command === "generate") {
    const pair = generateRecoveryKeyPair();
    io.out(`# recovery key id ${pair.id}`);
    io.out(
      `# public key: set M3SHD_MEMORY_RECOVERY_PUBLIC_KEY or write it to <data dir>/memory-recovery.pub,`,
    );
    io.out(`# then run \`kek rotate --rewrap-only\` to seal every agent key to it.`);
    io.out(pair.publicKey);
    io.out(`# private key: store OFFLINE (password manager, paper). Never on the server.`);
    io.out(pair.privateKey);
    return 0;
  }
  if (group !== "kek" || !command) {
    io.err(USAGE);
    return 2;
  }
  if (command === "generate") {
    io.out(generateKek());
    return 0;
  }
  if (command === "add") {
    if (env.M3SHD_MEMORY_KEK) {
      io.err("The KEK ring comes from M3SHD_MEMORY_KEK: prepend a key from `kek generate` there yourself.");
      return 2;
    }
    const path = env.M3SHD_MEMORY_KEK_FILE ?? join(resolve(env.M3SHD_DATA_DIR), "memory-kek");
    const ring = readKekFile(path);
    const next = generateKek();
    writeKekFile(path, [next, ...ring]);
    io.out(
      `added ${parseKek(next).id} as primary KEK in ${path}; restart the memory service, then run \`kek rotate\``,
    );
    return 0;
  }
  const { service, kekFile } = openService(env, io.logger);
  try {
    switch (command) {
      case "status": {
        io.out(JSON.stringify(service.keyStatus(), null, 2));
        return 0;
      }
      case "rotate": {
        const result = await service.rotate({ reencrypt: !rest.includes("--rewrap-only") });
        io.out(JSON.stringify(result, null, 2));
        return result.failed.length === 0 ? 0 : 1;
      }
      case "retire": {
        const kekId = rest[0];
        if (!kekId) {
          io.err("kek retire <kek-id>");
          return 2;
        }
        service.retireKek(kekId);
        if (kekFile) {
          const ring = readKekFile(kekFile).filter((k) => parseKek(k).id !== kekId);
          writeKekFile(kekFile, ring);
          io.out(`retired ${kekId} and removed it from ${kekFile}`);
        } else {
          io.out(`retired ${kekId}; remove it from M3SHD_MEMORY_KEK`);
        }
        return 0;
      }
      case "recover": {
        const file = rest.find((a) => !a.startsWith("--"));
        if (!file) {
          io.err("kek recover <private-key-file> [--all]");
          return 2;
        }
        const privateKey = readFileSync(file, "utf8").trim();
        const result = service.recover({ recoveryPrivateKey: privateKey, all: rest.includes("--all") });
        io.out(JSON.stringify(result, null, 2));
        return result.failed.length === 0 ? 0 : 1;
      }
      default:
        io.err(USAGE);
        return 2;
    }
  } catch (err) {
    // Refusals (a KEK still in use, the primary) are expected answers, not crashes.
    if (isM3shdError(err)) {
      io.err(`${err.code}: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    service.close();
  }
}
