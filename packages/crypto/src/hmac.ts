import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { type BytesLike, toBuffer } from "./encoding";

// A full HMAC-SHA256 tag: 32 bytes = 64 hex characters.
const SIGNATURE_HEX_RE = /^[0-9a-fA-F]{64}$/;

/** Computes HMAC-SHA256(key, data); strings are UTF-8. */
export function hmacSha256(key: BytesLike, data: BytesLike): Buffer {
  return createHmac("sha256", toBuffer(key)).update(toBuffer(data)).digest();
}

/** Signs `data` with HMAC-SHA256 and returns the tag as lowercase hex. */
export function sign(key: BytesLike, data: BytesLike): string {
  return hmacSha256(key, data).toString("hex");
}

/**
 * Checks a hex HMAC-SHA256 tag in constant time. Returns false (never throws) for a wrong tag, a
 * truncated tag or anything that is not exactly 64 hex characters.
 */
export function verify(key: BytesLike, data: BytesLike, signatureHex: string): boolean {
  // The format check runs before any comparison: it reveals only that the input is malformed, and it
  // guarantees equal lengths so timingSafeEqual cannot throw. Truncated tags are refused on purpose —
  // accepting a prefix would let an attacker guess a shorter MAC.
  if (typeof signatureHex !== "string" || !SIGNATURE_HEX_RE.test(signatureHex)) return false;
  if (!isBytesLike(key) || !isBytesLike(data)) return false;
  const expected = hmacSha256(key, data);
  const provided = Buffer.from(signatureHex, "hex");
  return timingSafeEqual(expected, provided);
}

/**
 * Compares two secrets (tokens, tags) without leaking where they differ or how long they are: both
 * sides are hashed to 32 bytes first, so unequal lengths take the same path as unequal content.
 * A string and a Buffer holding its UTF-8 bytes compare equal.
 */
export function constantTimeEqual(a: BytesLike, b: BytesLike): boolean {
  const digestA = createHash("sha256").update(toBuffer(a)).digest();
  const digestB = createHash("sha256").update(toBuffer(b)).digest();
  return timingSafeEqual(digestA, digestB);
}

function isBytesLike(value: unknown): value is BytesLike {
  return typeof value === "string" || value instanceof Uint8Array;
}

/** SHA-256 of `data` as lowercase hex; strings are UTF-8. */
export function sha256Hex(data: BytesLike): string {
  return createHash("sha256").update(toBuffer(data)).digest("hex");
}
