import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { loadOrCreateSecret } from "@m3shd/service-kit";

export interface HubSecrets {
  masterToken: string;
  /** Where the master token lives when it was generated (never the token itself in logs). */
  masterTokenFile: string | null;
  provenanceKey: Buffer;
  /** Seals secrets the hub must read back (inbound webhook secrets). */
  secretsKey: Buffer;
}

/**
 * The master token, provenance key and secrets key: from the environment, else from 0600 files in
 * `dataDir` (generated on first start).
 */
export function loadHubSecrets(
  dataDir: string,
  env: {
    M3SHD_MASTER_TOKEN?: string | undefined;
    M3SHD_PROVENANCE_KEY?: string | undefined;
    M3SHD_SECRETS_KEY?: string | undefined;
  },
): HubSecrets {
  let masterToken = env.M3SHD_MASTER_TOKEN;
  let masterTokenFile: string | null = null;
  if (!masterToken) {
    masterTokenFile = join(dataDir, "master-token");
    masterToken = loadOrCreateSecret(
      masterTokenFile,
      () => `m3shd_master_${randomBytes(32).toString("base64url")}`,
    ).value;
  }
  const keyHex =
    env.M3SHD_PROVENANCE_KEY ??
    loadOrCreateSecret(join(dataDir, "provenance.key"), () => randomBytes(32).toString("hex")).value;
  const secretsHex =
    env.M3SHD_SECRETS_KEY ??
    loadOrCreateSecret(join(dataDir, "secrets.key"), () => randomBytes(32).toString("hex")).value;
  return {
    masterToken,
    masterTokenFile,
    provenanceKey: Buffer.from(keyHex, "hex"),
    secretsKey: Buffer.from(secretsHex, "hex"),
  };
}
