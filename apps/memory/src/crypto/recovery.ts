import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
} from "node:crypto";
import { associatedData, open, seal } from "./aead";

/**
 * KEK recovery by escrow to an offline X25519 key. Every agent root is also sealed to the recovery
 * public key (ephemeral X25519 → HKDF-SHA256 → AES-256-GCM), so an operator who lost every KEK but
 * kept the recovery private key offline can re-wrap all agent keys under a fresh KEK. The running
 * service only ever holds the public half: a stolen server cannot open the escrow.
 */

const PUBLIC_PREFIX = "m3shd-mrk-pub-v1:";
const PRIVATE_PREFIX = "m3shd-mrk-sec-v1:";
const RAW_KEY = /^[A-Za-z0-9_-]{43}$/;

export interface RecoveryPublicKey {
  /** `rk_` + 16 hex chars of SHA-256(public key). */
  id: string;
  key: KeyObject;
  raw: Buffer;
}

export interface RecoveryPrivateKey {
  id: string;
  key: KeyObject;
  publicKey: RecoveryPublicKey;
}

function recoveryIdOf(raw: Buffer): string {
  return `rk_${createHash("sha256").update(raw).digest("hex").slice(0, 16)}`;
}

function publicFromRaw(raw: Buffer): RecoveryPublicKey {
  const key = createPublicKey({
    key: { kty: "OKP", crv: "X25519", x: raw.toString("base64url") },
    format: "jwk",
  });
  return { id: recoveryIdOf(raw), key, raw };
}

/** A new recovery key pair in text form. Keep `privateKey` offline; configure `publicKey`. */
export function generateRecoveryKeyPair(): { publicKey: string; privateKey: string; id: string } {
  const { privateKey } = generateKeyPairSync("x25519");
  const jwk = privateKey.export({ format: "jwk" });
  if (!jwk.x || !jwk.d) throw new Error("X25519 export failed");
  const raw = Buffer.from(jwk.x, "base64url");
  return {
    publicKey: `${PUBLIC_PREFIX}${jwk.x}`,
    privateKey: `${PRIVATE_PREFIX}${jwk.d}.${jwk.x}`,
    id: recoveryIdOf(raw),
  };
}

/** Parses `m3shd-mrk-pub-v1:…`; throws a TypeError that never echoes the input. */
export function parseRecoveryPublicKey(text: string): RecoveryPublicKey {
  const body = text.trim().startsWith(PUBLIC_PREFIX) ? text.trim().slice(PUBLIC_PREFIX.length) : "";
  if (!RAW_KEY.test(body))
    throw new TypeError("Recovery public key must look like m3shd-mrk-pub-v1:<base64url>");
  return publicFromRaw(Buffer.from(body, "base64url"));
}

/** Parses `m3shd-mrk-sec-v1:…`; throws a TypeError that never echoes the input. */
export function parseRecoveryPrivateKey(text: string): RecoveryPrivateKey {
  const body = text.trim().startsWith(PRIVATE_PREFIX) ? text.trim().slice(PRIVATE_PREFIX.length) : "";
  const [d, x] = body.split(".");
  if (!d || !x || !RAW_KEY.test(d) || !RAW_KEY.test(x)) {
    throw new TypeError("Recovery private key must look like m3shd-mrk-sec-v1:<base64url>.<base64url>");
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: { kty: "OKP", crv: "X25519", d, x }, format: "jwk" });
  } catch {
    throw new TypeError("Recovery private key is not a valid X25519 key");
  }
  // The public half must be the one derived from `d`; otherwise the text was spliced together.
  const derived = createPublicKey(key).export({ format: "jwk" }).x;
  if (derived !== x) throw new TypeError("Recovery private key halves do not match");
  const publicKey = publicFromRaw(Buffer.from(x, "base64url"));
  return { id: publicKey.id, key, publicKey };
}

function recoveryAad(agentId: string, generation: number): Buffer {
  return associatedData("m3shd.memory.recovery.v1", agentId, generation);
}

function sharedKey(shared: Buffer, ephemeralRaw: Buffer, recipientRaw: Buffer): Buffer {
  const salt = Buffer.concat([ephemeralRaw, recipientRaw]);
  return Buffer.from(hkdfSync("sha256", shared, salt, "m3shd.memory.recovery.v1", 32));
}

/** Seals an agent root to the recovery public key. Layout: ephemeral public (32) ‖ AES-GCM sealed. */
export function sealForRecovery(
  recipient: RecoveryPublicKey,
  root: Buffer,
  agentId: string,
  generation: number,
): Buffer {
  const ephemeral = generateKeyPairSync("x25519");
  const ephemeralX = ephemeral.publicKey.export({ format: "jwk" }).x;
  if (!ephemeralX) throw new Error("X25519 export failed");
  const ephemeralRaw = Buffer.from(ephemeralX, "base64url");
  const shared = diffieHellman({ privateKey: ephemeral.privateKey, publicKey: recipient.key });
  const key = sharedKey(shared, ephemeralRaw, recipient.raw);
  return Buffer.concat([ephemeralRaw, seal(key, root, recoveryAad(agentId, generation))]);
}

/** Opens a recovery envelope; `null` when it is not for this key or was tampered with. */
export function openWithRecoveryKey(
  recipient: RecoveryPrivateKey,
  sealed: Uint8Array,
  agentId: string,
  generation: number,
): Buffer | null {
  if (sealed.length < 32 + 28) return null;
  const buf = Buffer.from(sealed);
  const ephemeralRaw = buf.subarray(0, 32);
  let shared: Buffer;
  try {
    const ephemeral = createPublicKey({
      key: { kty: "OKP", crv: "X25519", x: ephemeralRaw.toString("base64url") },
      format: "jwk",
    });
    shared = diffieHellman({ privateKey: recipient.key, publicKey: ephemeral });
  } catch {
    return null;
  }
  const key = sharedKey(shared, ephemeralRaw, recipient.publicKey.raw);
  return open(key, buf.subarray(32), recoveryAad(agentId, generation));
}
