import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { loadOrCreateSecret } from "@m3shd/service-kit";
import { generateKek, parseKek } from "./crypto/kek";
import { generateRecoveryKeyPair, parseRecoveryPublicKey } from "./crypto/recovery";

/** Secret files (0600, exclusive create) are shared with the hub: `@m3shd/service-kit`. */
export const loadOrCreateSecretFile = loadOrCreateSecret;

/** The KEKs in a ring file: one per line, primary first; blank lines and `#` comments ignored. */
export function readKekFile(path: string): string[] {
  if ((statSync(path).mode & 0o077) !== 0) {
    try {
      chmodSync(path, 0o600);
    } catch (err) {
      // A mounted secret (compose `secrets:`, a read-only bind mount) is not ours to change: its
      // permissions are the operator's (docs/operations.md). Anything else is a real failure.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== "EPERM" && code !== "EROFS") throw err;
    }
  }
  const keys = readFileSync(path, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith("#"));
  for (const key of keys) parseKek(key);
  if (keys.length === 0) throw new Error(`KEK file ${path} holds no key`);
  return keys;
}

/** Rewrites a ring file atomically (temp file 0600 + rename): a crash leaves the old or the new ring, never half. */
export function writeKekFile(path: string, keys: readonly string[]): void {
  for (const key of keys) parseKek(key);
  const body = [
    "# M3SHD memory KEK ring: primary (used for new wraps) first. Keep a copy offline; see docs/memory.md.",
    ...keys,
    "",
  ].join("\n");
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(tmp, body, { mode: 0o600, flag: "wx" });
  renameSync(tmp, path);
}

/** The ring file, created with one fresh KEK on first run. */
export function loadOrCreateKekFile(path: string): { keys: string[]; created: boolean } {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (!existsSync(path)) {
    try {
      writeFileSync(
        path,
        `# M3SHD memory KEK ring: primary first. Keep a copy offline.\n${generateKek()}\n`,
        {
          mode: 0o600,
          flag: "wx",
        },
      );
      return { keys: readKekFile(path), created: true };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
  return { keys: readKekFile(path), created: false };
}

export interface MemorySecrets {
  /** KEK ring, primary first. */
  kek: string[];
  /** Where the ring lives (null when it came from the environment). */
  kekFile: string | null;
  recoveryPublicKey: string | null;
  /** Set only on the run that generated a recovery pair: the private half to move offline. */
  generatedRecoveryPrivateKeyFile: string | null;
  serviceToken: string;
  serviceTokenFile: string | null;
}

/** Default locations under the data directory. */
export function memorySecretPaths(dataDir: string) {
  return {
    kekFile: join(dataDir, "memory-kek"),
    recoveryPublicKeyFile: join(dataDir, "memory-recovery.pub"),
    recoveryPrivateKeyFile: join(dataDir, "memory-recovery.key"),
    serviceTokenFile: join(dataDir, "memory-service-token"),
  };
}

/**
 * KEK ring, recovery public key and service token: from the environment, else from files under
 * `dataDir`, generated on first run. The hub reads the same service token (env or file).
 */
export function loadMemorySecrets(
  dataDir: string,
  env: {
    M3SHD_MEMORY_KEK?: string | undefined;
    M3SHD_MEMORY_KEK_FILE?: string | undefined;
    M3SHD_MEMORY_RECOVERY_PUBLIC_KEY?: string | undefined;
    M3SHD_MEMORY_SERVICE_TOKEN?: string | undefined;
  },
): MemorySecrets {
  const paths = memorySecretPaths(dataDir);
  let kek: string[];
  let kekFile: string | null = null;
  if (env.M3SHD_MEMORY_KEK) {
    kek = env.M3SHD_MEMORY_KEK.split(",")
      .map((k) => k.trim())
      .filter((k) => k.length > 0);
  } else {
    kekFile = env.M3SHD_MEMORY_KEK_FILE ?? paths.kekFile;
    kek = loadOrCreateKekFile(kekFile).keys;
  }

  let recoveryPublicKey: string | null = null;
  let generatedRecoveryPrivateKeyFile: string | null = null;
  if (env.M3SHD_MEMORY_RECOVERY_PUBLIC_KEY === "none") {
    recoveryPublicKey = null;
  } else if (env.M3SHD_MEMORY_RECOVERY_PUBLIC_KEY) {
    parseRecoveryPublicKey(env.M3SHD_MEMORY_RECOVERY_PUBLIC_KEY);
    recoveryPublicKey = env.M3SHD_MEMORY_RECOVERY_PUBLIC_KEY;
  } else {
    let pair: ReturnType<typeof generateRecoveryKeyPair> | null = null;
    const loaded = loadOrCreateSecretFile(paths.recoveryPublicKeyFile, () => {
      pair = generateRecoveryKeyPair();
      return pair.publicKey;
    });
    recoveryPublicKey = loaded.value;
    parseRecoveryPublicKey(recoveryPublicKey);
    const generated = pair as ReturnType<typeof generateRecoveryKeyPair> | null;
    if (loaded.created && generated) {
      writeFileSync(paths.recoveryPrivateKeyFile, `${generated.privateKey}\n`, { mode: 0o600, flag: "wx" });
      generatedRecoveryPrivateKeyFile = paths.recoveryPrivateKeyFile;
    }
  }

  let serviceToken = env.M3SHD_MEMORY_SERVICE_TOKEN;
  let serviceTokenFile: string | null = null;
  if (!serviceToken) {
    serviceTokenFile = paths.serviceTokenFile;
    serviceToken = loadOrCreateSecretFile(
      serviceTokenFile,
      () => `m3shd_mem_${randomBytes(32).toString("base64url")}`,
    ).value;
  }
  return { kek, kekFile, recoveryPublicKey, generatedRecoveryPrivateKeyFile, serviceToken, serviceTokenFile };
}
