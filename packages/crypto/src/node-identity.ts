import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from "node:crypto";
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Node identity: an Ed25519 key pair that a worker signs its results with. The hub binds the
 * public key to the agent at first registration; from then on a result is accepted only with a
 * valid signature, so a stolen bearer token alone cannot forge that node's results.
 */
export interface NodeIdentity {
  version: 1;
  algorithm: "ed25519";
  /** The agent slug this identity was created for (informational; the hub binds by agent id). */
  node_id: string | null;
  /** `nk_` + the first 24 hex digits of SHA-256(raw public key). */
  key_id: string;
  /** The raw 32-byte public key, base64url. */
  public_key: string;
  /** PKCS#8 PEM. Never leaves the identity file. */
  private_key: string;
  /** Epoch ms. */
  created_at: number;
}

/** Deterministic JSON: object keys sorted, no whitespace, `undefined` members dropped. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value))
      throw new Error("canonicalJson: non-finite number");
    const text = JSON.stringify(value);
    if (text === undefined) throw new Error(`canonicalJson: cannot encode ${typeof value}`);
    return text;
  }
  if (Array.isArray(value))
    return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** The key id of a raw Ed25519 public key (base64url). */
export function nodeKeyId(publicKey: string): string {
  return `nk_${createHash("sha256").update(Buffer.from(publicKey, "base64url")).digest("hex").slice(0, 24)}`;
}

/** Whether `value` is a base64url raw Ed25519 public key (32 bytes). */
export function isEd25519PublicKey(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value) && isCanonicalBase64url(value, 32);
}

/**
 * Whether `value` is the one base64url spelling of `bytes` bytes. The last character of a 32- or
 * 64-byte value carries unused low bits that decoders ignore, so without this check a key or
 * signature has several spellings — and a changed byte in a bundle would go unnoticed.
 */
function isCanonicalBase64url(value: string, bytes: number): boolean {
  const decoded = Buffer.from(value, "base64url");
  return decoded.length === bytes && decoded.toString("base64url") === value;
}

/** A fresh identity. */
export function generateNodeIdentity(nodeId: string | null = null, now: number = Date.now()): NodeIdentity {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "jwk" }).x;
  if (!raw) throw new Error("Ed25519 public key export failed");
  return {
    version: 1,
    algorithm: "ed25519",
    node_id: nodeId,
    key_id: nodeKeyId(raw),
    public_key: raw,
    private_key: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    created_at: now,
  };
}

/** Ed25519 signature (base64url) of `canonicalJson(payload)`. */
export function signCanonical(privateKeyPem: string, payload: unknown): string {
  return sign(null, Buffer.from(canonicalJson(payload), "utf8"), createPrivateKey(privateKeyPem)).toString(
    "base64url",
  );
}

export type SignatureCheck =
  | { ok: true }
  | { ok: false; reason: "malformed_key" | "malformed_signature" | "bad_signature" };

/** Verifies a `signCanonical` signature. Never throws: a bad key or signature is a result. */
export function verifyCanonical(publicKey: string, payload: unknown, signature: string): SignatureCheck {
  if (!isEd25519PublicKey(publicKey)) return { ok: false, reason: "malformed_key" };
  if (!/^[A-Za-z0-9_-]{86}$/.test(signature) || !isCanonicalBase64url(signature, 64))
    return { ok: false, reason: "malformed_signature" };
  let data: Buffer;
  try {
    data = Buffer.from(canonicalJson(payload), "utf8");
  } catch {
    return { ok: false, reason: "bad_signature" };
  }
  const key = createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: publicKey }, format: "jwk" });
  return verify(null, data, key, Buffer.from(signature, "base64url"))
    ? { ok: true }
    : { ok: false, reason: "bad_signature" };
}

/**
 * Writes an identity file with mode 0600 (its directory 0700). Refuses to replace an existing file
 * unless `overwrite`: losing a bound key means asking the hub's admin to rotate it.
 */
export function writeIdentityFile(
  path: string,
  identity: NodeIdentity,
  options: { overwrite?: boolean } = {},
): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(identity, null, 2)}\n`, {
    mode: 0o600,
    flag: options.overwrite ? "w" : "wx",
  });
  chmodSync(path, 0o600); // `mode` applies only when the file is created
}

/** Reads and checks an identity file; throws with a readable message (never the key) when it is not one. */
export function readIdentityFile(path: string): NodeIdentity {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(`identity file ${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    throw new Error(`identity file ${path} is not valid JSON`);
  }
  const id = parsed as Partial<NodeIdentity>;
  if (
    id?.version !== 1 ||
    id.algorithm !== "ed25519" ||
    typeof id.public_key !== "string" ||
    !isEd25519PublicKey(id.public_key) ||
    typeof id.private_key !== "string" ||
    id.key_id !== nodeKeyId(id.public_key)
  ) {
    throw new Error(`identity file ${path} is not an m3shd Ed25519 identity`);
  }
  // The private key must be the public key's pair: a mixed-up file would sign results the hub refuses.
  const derived = createPublicKey(createPrivateKey(id.private_key)).export({ format: "jwk" }).x;
  if (derived !== id.public_key)
    throw new Error(`identity file ${path}: private and public keys do not match`);
  return {
    version: 1,
    algorithm: "ed25519",
    node_id: typeof id.node_id === "string" ? id.node_id : null,
    key_id: id.key_id,
    public_key: id.public_key,
    private_key: id.private_key,
    created_at: typeof id.created_at === "number" ? id.created_at : 0,
  };
}
