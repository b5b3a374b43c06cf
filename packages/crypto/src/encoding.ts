/**
 * Strict codecs. Node's `Buffer.from(s, "hex" | "base64")` silently skips characters it does not
 * understand and stops at the first bad hex pair, so "deadbeefXX" and "deadbeef" would decode to the
 * same bytes. Every decoder here validates the whole string first and returns `null` on anything
 * non-canonical, so two different strings never decode to the same bytes.
 */

/** Bytes accepted wherever the API takes binary input; strings are encoded as UTF-8. */
export type BytesLike = string | Uint8Array;

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const BASE64URL_RE = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

/** Converts UTF-8 strings and byte views to a Buffer without copying byte input. */
export function toBuffer(input: BytesLike): Buffer {
  if (typeof input === "string") return Buffer.from(input, "utf8");
  return Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

/** Decodes hex (either case); `null` when the string is not whole hex pairs. */
export function decodeHex(input: string): Buffer | null {
  if (!HEX_RE.test(input)) return null;
  return Buffer.from(input, "hex");
}

/** Encodes bytes as standard base64 (RFC 4648 section 4) with padding. */
export function encodeBase64(bytes: Uint8Array): string {
  return toBuffer(bytes).toString("base64");
}

/** Decodes padded standard base64; `null` unless the string is the canonical encoding of its bytes. */
export function decodeBase64(input: string): Buffer | null {
  if (!BASE64_RE.test(input)) return null;
  const bytes = Buffer.from(input, "base64");
  // Unused low bits in the last character must be zero, otherwise several strings map to one value.
  return bytes.toString("base64") === input ? bytes : null;
}

/** Encodes bytes as URL-safe base64 (RFC 4648 section 5) *with* padding, as Fernet requires. */
export function encodeBase64Url(bytes: Uint8Array): string {
  return toBuffer(bytes).toString("base64").replaceAll("+", "-").replaceAll("/", "_");
}

/** Decodes padded URL-safe base64; `null` unless the string is the canonical encoding of its bytes. */
export function decodeBase64Url(input: string): Buffer | null {
  if (!BASE64URL_RE.test(input)) return null;
  const bytes = Buffer.from(input, "base64url");
  return encodeBase64Url(bytes) === input ? bytes : null;
}
