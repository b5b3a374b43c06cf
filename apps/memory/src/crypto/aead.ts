import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** AES-256-GCM with a random 96-bit nonce. Sealed layout: nonce (12) ‖ ciphertext ‖ tag (16). */
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

/**
 * Associated data from several parts, each length-prefixed so that no two different part lists
 * encode alike (`("ab","c")` ≠ `("a","bc")`): a ciphertext moved to another agent or entry fails
 * authentication instead of decrypting under the wrong identity.
 */
export function associatedData(...parts: (string | number)[]): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const bytes = Buffer.from(String(part), "utf8");
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    chunks.push(length, bytes);
  }
  return Buffer.concat(chunks);
}

/** Encrypts and authenticates `plaintext` under a 32-byte key, binding `aad`. */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  if (key.length !== KEY_BYTES) throw new RangeError("AES-256-GCM key must be 32 bytes");
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Decrypts a sealed buffer; `null` (never a throw) when it is malformed, forged or bound to other data. */
export function open(key: Buffer, sealed: Uint8Array, aad: Buffer): Buffer | null {
  if (key.length !== KEY_BYTES || sealed.length < NONCE_BYTES + TAG_BYTES) return null;
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, buf.subarray(0, NONCE_BYTES));
    decipher.setAAD(aad);
    decipher.setAuthTag(buf.subarray(buf.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(buf.subarray(NONCE_BYTES, buf.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch {
    return null;
  }
}

/**
 * Pads a plaintext to a multiple of `block` bytes (4-byte length prefix, zero fill) so ciphertext
 * sizes reveal a value's length only to within `block` bytes.
 */
export function pad(plaintext: Buffer, block = 64): Buffer {
  const total = Math.ceil((plaintext.length + 4) / block) * block;
  const out = Buffer.alloc(total);
  out.writeUInt32BE(plaintext.length, 0);
  plaintext.copy(out, 4);
  return out;
}

/** Reverses `pad`; `null` when the length prefix does not fit. */
export function unpad(padded: Buffer): Buffer | null {
  if (padded.length < 4) return null;
  const length = padded.readUInt32BE(0);
  if (length > padded.length - 4) return null;
  return padded.subarray(4, 4 + length);
}
