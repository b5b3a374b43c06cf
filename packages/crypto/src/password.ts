import { pbkdf2, randomBytes, timingSafeEqual } from "node:crypto";
import { promisify } from "node:util";
import { decodeBase64, encodeBase64 } from "./encoding";

/**
 * Password hashing with PBKDF2-HMAC-SHA256, stored as a self-describing string
 *
 *   pbkdf2_sha256$<iterations>$<salt, base64>$<derived key, base64>
 *
 * (standard padded base64). The password bytes are its UTF-8 encoding, without Unicode
 * normalisation. Derivation uses the async `crypto.pbkdf2`, which runs on libuv's thread pool, so a
 * 310,000-iteration hash does not stall the event loop.
 */

const pbkdf2Async = promisify(pbkdf2);

const ALGORITHM = "pbkdf2_sha256";
/** OWASP's 2023 recommendation for PBKDF2-HMAC-SHA256. */
export const DEFAULT_PASSWORD_ITERATIONS = 310_000;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
// A stored hash could be tampered with to name billions of iterations and pin a CPU per login attempt;
// anything above this bound is treated as malformed rather than computed.
const MAX_ITERATIONS = 10_000_000;
const ITERATIONS_RE = /^[1-9][0-9]{0,7}$/;

/** Options for `hashPassword` and `needsRehash`. */
export type PasswordHashOptions = {
  /** PBKDF2 iteration count. Default 310,000. */
  iterations?: number;
};

type ParsedHash = { iterations: number; salt: Buffer; key: Buffer };

/** Hashes a password with a fresh 16-byte random salt; resolves to the encoded string to store. */
export async function hashPassword(password: string, options: PasswordHashOptions = {}): Promise<string> {
  const iterations = options.iterations ?? DEFAULT_PASSWORD_ITERATIONS;
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw new RangeError(`iterations must be an integer in [1, ${MAX_ITERATIONS}]`);
  }
  if (typeof password !== "string") throw new TypeError("password must be a string");
  const salt = randomBytes(SALT_BYTES);
  const key = await pbkdf2Async(Buffer.from(password, "utf8"), salt, iterations, KEY_BYTES, "sha256");
  return `${ALGORITHM}$${iterations}$${encodeBase64(salt)}$${encodeBase64(key)}`;
}

/**
 * Checks a password against an encoded hash in constant time. Resolves false — never rejects — for
 * a wrong password or a malformed, truncated or foreign-format hash.
 */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  if (typeof password !== "string") return false;
  const parsed = parseHash(encoded);
  if (parsed === null) return false;
  const candidate = await pbkdf2Async(
    Buffer.from(password, "utf8"),
    parsed.salt,
    parsed.iterations,
    KEY_BYTES,
    "sha256",
  );
  return timingSafeEqual(candidate, parsed.key);
}

/**
 * True when an encoded hash should be replaced at the next successful login: its iteration count is
 * below the target (default 310,000), its salt is shorter than 16 bytes, or its format is unknown.
 */
export function needsRehash(encoded: string, options: PasswordHashOptions = {}): boolean {
  const target = options.iterations ?? DEFAULT_PASSWORD_ITERATIONS;
  const parsed = parseHash(encoded);
  return parsed === null || parsed.iterations < target || parsed.salt.length < SALT_BYTES;
}

function parseHash(encoded: unknown): ParsedHash | null {
  if (typeof encoded !== "string") return null;
  const parts = encoded.split("$");
  if (parts.length !== 4) return null;
  const [algorithm, iterationsText, saltText, keyText] = parts;
  if (
    algorithm !== ALGORITHM ||
    iterationsText === undefined ||
    saltText === undefined ||
    keyText === undefined
  ) {
    return null;
  }
  if (!ITERATIONS_RE.test(iterationsText)) return null;
  const iterations = Number(iterationsText);
  if (iterations > MAX_ITERATIONS) return null;
  const salt = decodeBase64(saltText);
  const key = decodeBase64(keyText);
  // A key of another length cannot be compared with timingSafeEqual and was not made by this module.
  if (salt === null || salt.length === 0 || key === null || key.length !== KEY_BYTES) return null;
  return { iterations, salt, key };
}
