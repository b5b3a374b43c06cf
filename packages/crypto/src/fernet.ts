import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { type BytesLike, decodeBase64Url, encodeBase64Url, toBuffer } from "./encoding";

/**
 * Fernet (https://github.com/fernet/spec), byte-compatible with Python's `cryptography.fernet`:
 *
 *   token = base64url( 0x80 ‖ timestamp (u64 BE, seconds) ‖ IV (16) ‖ AES-128-CBC-PKCS7(plaintext) ‖ HMAC )
 *   HMAC  = HMAC-SHA256(signing key, everything before it)
 *   key   = base64url(signing key (16) ‖ encryption key (16))
 *
 * The MAC is checked (in constant time) before anything else in the token is trusted: timestamps are
 * only compared and ciphertext only decrypted once authenticated, so a forged token cannot be used as
 * a padding oracle.
 */

const VERSION = 0x80;
const TIMESTAMP_OFFSET = 1;
const IV_OFFSET = 9;
const CIPHERTEXT_OFFSET = 25;
const IV_BYTES = 16;
const BLOCK_BYTES = 16;
const MAC_BYTES = 32;
const KEY_BYTES = 32;
// Version + timestamp + IV + at least one cipher block (PKCS7 always pads) + MAC.
const MIN_TOKEN_BYTES = CIPHERTEXT_OFFSET + BLOCK_BYTES + MAC_BYTES;
/** Tokens stamped further than this in the future are refused (the spec's clock-skew rule). */
const MAX_CLOCK_SKEW_SECONDS = 60;

/** Why a token was refused. */
export type InvalidTokenReason =
  | "malformed"
  | "unsupported_version"
  | "bad_signature"
  | "expired"
  | "timestamp_in_future"
  | "bad_ciphertext";

/** Thrown by `decrypt`, `extractTimestamp` and `rotate` for any token that must not be accepted. */
export class InvalidTokenError extends Error {
  override readonly name = "InvalidTokenError";
  /** Machine-readable cause; the message deliberately carries nothing from the token. */
  readonly reason: InvalidTokenReason;

  /** Creates the error for one refusal reason. */
  constructor(reason: InvalidTokenReason) {
    super(`invalid Fernet token (${reason})`);
    this.reason = reason;
  }
}

/** Options for encryption; both exist so tests and the spec's vectors can pin the output. */
export type FernetEncryptOptions = {
  /** Current time: a Date or Unix epoch milliseconds. Default: the system clock. */
  now?: Date | number;
  /** 16-byte IV. Default: random. Never reuse one in production. */
  iv?: Uint8Array;
};

/** Options for decryption. */
export type FernetDecryptOptions = {
  /** Maximum token age in seconds; omitted means tokens never expire. */
  ttl?: number;
  /** Current time: a Date or Unix epoch milliseconds. Default: the system clock. */
  now?: Date | number;
};

/** Result of `tryDecrypt`: the plaintext and the token's timestamp (Unix seconds), or the reason it was refused. */
export type FernetDecryptResult =
  | { ok: true; plaintext: Buffer; timestamp: number }
  | { ok: false; reason: InvalidTokenReason };

type FernetKeys = { signingKey: Buffer; encryptionKey: Buffer };
type TimeCheck = { ttl: number | undefined; nowSeconds: bigint };
type Opened = { ok: true; plaintext: Buffer; timestamp: bigint } | { ok: false; reason: InvalidTokenReason };

// Key material lives outside the instances so it never shows up in console.log / util.inspect, and
// so MultiFernet can reach the untimed decryption path that `rotate` needs without making it public.
const fernetKeys = new WeakMap<Fernet, FernetKeys>();

/** A single Fernet key: encrypts and authenticates tokens. */
export class Fernet {
  /** @param key 32 bytes as padded url-safe base64 (as produced by `generateKey`), or raw bytes. */
  constructor(key: string | Uint8Array) {
    const bytes = typeof key === "string" ? decodeBase64Url(key) : key instanceof Uint8Array ? key : null;
    if (bytes === null || bytes.length !== KEY_BYTES) {
      throw new TypeError("Fernet key must be 32 bytes, given as padded url-safe base64 or raw bytes");
    }
    fernetKeys.set(this, {
      signingKey: Buffer.from(bytes.subarray(0, 16)),
      encryptionKey: Buffer.from(bytes.subarray(16, 32)),
    });
  }

  /** Generates a fresh random key as padded url-safe base64 (44 characters). */
  static generateKey(): string {
    return encodeBase64Url(randomBytes(KEY_BYTES));
  }

  /** Encrypts and signs `plaintext` (strings are UTF-8) into a token. */
  encrypt(plaintext: BytesLike, options: FernetEncryptOptions = {}): string {
    const seconds = BigInt(toUnixSeconds(options.now));
    return sealToken(keysOf(this), toBuffer(plaintext), seconds, checkedIv(options.iv));
  }

  /** Decrypts a token; throws InvalidTokenError if it is malformed, forged, expired or from the future. */
  decrypt(token: string, options: FernetDecryptOptions = {}): Buffer {
    const result = this.tryDecrypt(token, options);
    if (!result.ok) throw new InvalidTokenError(result.reason);
    return result.plaintext;
  }

  /** Like `decrypt`, but returns `{ ok: false, reason }` instead of throwing. */
  tryDecrypt(token: string, options: FernetDecryptOptions = {}): FernetDecryptResult {
    return publicResult(openToken(keysOf(this), token, timeCheck(options)));
  }

  /** Returns the authenticated timestamp (Unix seconds) of a token, ignoring TTL and clock skew. */
  extractTimestamp(token: string): number {
    const opened = verifyToken(keysOf(this), token);
    if (!opened.ok) throw new InvalidTokenError(opened.reason);
    return Number(opened.timestamp);
  }
}

/**
 * Key rotation over several Fernet keys: encrypts with the first, decrypts with whichever matches,
 * and `rotate` re-encrypts old tokens under the first key.
 */
export class MultiFernet {
  readonly #fernets: readonly Fernet[];

  /** @param fernets newest key first; at least one. */
  constructor(fernets: readonly Fernet[]) {
    if (!Array.isArray(fernets) || fernets.length === 0) {
      throw new TypeError("MultiFernet needs at least one Fernet");
    }
    if (!fernets.every((fernet) => fernet instanceof Fernet)) {
      throw new TypeError("MultiFernet takes Fernet instances");
    }
    this.#fernets = [...fernets];
  }

  /** Encrypts with the first (primary) key. */
  encrypt(plaintext: BytesLike, options: FernetEncryptOptions = {}): string {
    return this.#primary().encrypt(plaintext, options);
  }

  /** Decrypts with the first key that accepts the token; throws InvalidTokenError if none does. */
  decrypt(token: string, options: FernetDecryptOptions = {}): Buffer {
    const result = this.tryDecrypt(token, options);
    if (!result.ok) throw new InvalidTokenError(result.reason);
    return result.plaintext;
  }

  /** Like `decrypt`, but returns `{ ok: false, reason }` instead of throwing. */
  tryDecrypt(token: string, options: FernetDecryptOptions = {}): FernetDecryptResult {
    const check = timeCheck(options);
    return publicResult(this.#firstAccepted((keys) => openToken(keys, token, check)));
  }

  /** Returns the authenticated timestamp (Unix seconds) of a token signed by any of the keys. */
  extractTimestamp(token: string): number {
    const opened = this.#firstAccepted((keys) => verifyToken(keys, token));
    if (!opened.ok) throw new InvalidTokenError(opened.reason);
    return Number(opened.timestamp);
  }

  /**
   * Re-encrypts a token under the primary key, keeping its original timestamp so rotation does not
   * extend its TTL. Like Python's `MultiFernet.rotate`, age and clock skew are not checked; a token
   * no key can authenticate throws InvalidTokenError.
   */
  rotate(token: string, options: Pick<FernetEncryptOptions, "iv"> = {}): string {
    const opened = this.#firstAccepted((keys) => openToken(keys, token, null));
    if (!opened.ok) throw new InvalidTokenError(opened.reason);
    return sealToken(keysOf(this.#primary()), opened.plaintext, opened.timestamp, checkedIv(options.iv));
  }

  #primary(): Fernet {
    const primary = this.#fernets[0];
    if (primary === undefined) throw new Error("MultiFernet invariant broken: no keys");
    return primary;
  }

  /**
   * Tries each key in order. When all fail, the reported reason comes from a key that authenticated
   * the token if there is one (e.g. "expired" beats "bad_signature"), since that is the real cause.
   */
  #firstAccepted<T extends { ok: true } | { ok: false; reason: InvalidTokenReason }>(
    attempt: (keys: FernetKeys) => T,
  ): T {
    let failure: T | undefined;
    for (const fernet of this.#fernets) {
      const result = attempt(keysOf(fernet));
      if (result.ok) return result;
      const isBetter =
        failure === undefined ||
        (!failure.ok &&
          failure.reason === "bad_signature" &&
          !result.ok &&
          result.reason !== "bad_signature");
      if (isBetter) failure = result;
    }
    if (failure === undefined) throw new Error("MultiFernet invariant broken: no keys");
    return failure;
  }
}

function keysOf(fernet: Fernet): FernetKeys {
  const keys = fernetKeys.get(fernet);
  if (keys === undefined) throw new TypeError("not a Fernet instance");
  return keys;
}

function checkedIv(iv: Uint8Array | undefined): Uint8Array {
  if (iv === undefined) return randomBytes(IV_BYTES);
  if (!(iv instanceof Uint8Array) || iv.length !== IV_BYTES) {
    throw new TypeError(`Fernet IV must be ${IV_BYTES} bytes`);
  }
  return iv;
}

function sealToken(keys: FernetKeys, plaintext: Buffer, timestamp: bigint, iv: Uint8Array): string {
  const cipher = createCipheriv("aes-128-cbc", keys.encryptionKey, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const header = Buffer.alloc(CIPHERTEXT_OFFSET);
  header.writeUInt8(VERSION, 0);
  header.writeBigUInt64BE(timestamp, TIMESTAMP_OFFSET);
  Buffer.from(iv).copy(header, IV_OFFSET);
  const body = Buffer.concat([header, ciphertext]);
  const mac = createHmac("sha256", keys.signingKey).update(body).digest();
  return encodeBase64Url(Buffer.concat([body, mac]));
}

/** Decodes a token and checks its structure and MAC; nothing else is trusted before this passes. */
function verifyToken(
  keys: FernetKeys,
  token: unknown,
): { ok: true; data: Buffer; timestamp: bigint } | { ok: false; reason: InvalidTokenReason } {
  if (typeof token !== "string") return { ok: false, reason: "malformed" };
  const data = decodeBase64Url(token);
  if (data === null || data.length < MIN_TOKEN_BYTES) return { ok: false, reason: "malformed" };
  // The ciphertext must be whole AES blocks; its length is public, so checking it before the MAC
  // leaks nothing.
  if ((data.length - CIPHERTEXT_OFFSET - MAC_BYTES) % BLOCK_BYTES !== 0)
    return { ok: false, reason: "malformed" };
  if (data[0] !== VERSION) return { ok: false, reason: "unsupported_version" };
  const macOffset = data.length - MAC_BYTES;
  const expected = createHmac("sha256", keys.signingKey).update(data.subarray(0, macOffset)).digest();
  if (!timingSafeEqual(expected, data.subarray(macOffset))) return { ok: false, reason: "bad_signature" };
  return { ok: true, data, timestamp: data.readBigUInt64BE(TIMESTAMP_OFFSET) };
}

function openToken(keys: FernetKeys, token: unknown, check: TimeCheck | null): Opened {
  const verified = verifyToken(keys, token);
  if (!verified.ok) return verified;
  const { data, timestamp } = verified;
  if (check !== null) {
    // Same comparisons as Python's cryptography: expired when timestamp + ttl < now, too new when
    // now + 60 < timestamp. Done in bigint because the timestamp field is a full u64.
    if (check.ttl !== undefined && timestamp + BigInt(check.ttl) < check.nowSeconds) {
      return { ok: false, reason: "expired" };
    }
    if (check.nowSeconds + BigInt(MAX_CLOCK_SKEW_SECONDS) < timestamp) {
      return { ok: false, reason: "timestamp_in_future" };
    }
  }
  const ciphertext = data.subarray(CIPHERTEXT_OFFSET, data.length - MAC_BYTES);
  try {
    const decipher = createDecipheriv(
      "aes-128-cbc",
      keys.encryptionKey,
      data.subarray(IV_OFFSET, CIPHERTEXT_OFFSET),
    );
    const plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    return { ok: true, plaintext, timestamp };
  } catch {
    // Bad PKCS7 padding in an authenticated token: only the key holder can produce it, so revealing
    // the cause is not an oracle.
    return { ok: false, reason: "bad_ciphertext" };
  }
}

function publicResult(opened: Opened): FernetDecryptResult {
  if (!opened.ok) return opened;
  return { ok: true, plaintext: opened.plaintext, timestamp: Number(opened.timestamp) };
}

function timeCheck(options: FernetDecryptOptions): TimeCheck {
  const { ttl } = options;
  if (ttl !== undefined && !(Number.isSafeInteger(ttl) && ttl >= 0)) {
    throw new RangeError("Fernet ttl must be a non-negative integer number of seconds");
  }
  return { ttl, nowSeconds: BigInt(toUnixSeconds(options.now)) };
}

function toUnixSeconds(now: Date | number | undefined): number {
  const millis = now === undefined ? Date.now() : now instanceof Date ? now.getTime() : now;
  if (!Number.isFinite(millis) || millis < 0) {
    throw new RangeError("Fernet time must be a valid Date or non-negative epoch milliseconds");
  }
  return Math.floor(millis / 1000);
}
