import { createHash, randomBytes } from "node:crypto";

/**
 * Bearer tokens for agents and API keys:
 *
 *   m3shd_ag_<43 base62 chars>    (agent)
 *   m3shd_key_<43 base62 chars>   (API key)
 *
 * The body is 32 random bytes (256 bits) written in base62, left-padded to a fixed 43 characters.
 * Base62 keeps the token one "word" (double-click selects all of it, no URL escaping), and encoding
 * the bytes as one big number avoids the modulo bias of picking characters one by one. The readable
 * prefix lets secret scanners and humans recognise a leaked token. Only `hash` — SHA-256 of the whole
 * token — is stored; the token itself is shown once.
 */

/** What a token authenticates. */
export type TokenKind = "agent" | "key";

/** A freshly minted token: show `token` once, store `hash` and `prefix`. */
export type MintedToken = {
  /** The secret bearer token. Never store or log it. */
  token: string;
  /** SHA-256 hex of the full token: the only form that is stored. */
  hash: string;
  /** Non-secret display prefix (kind prefix + first 6 body characters) for listing keys. */
  prefix: string;
};

const KIND_PREFIXES: Readonly<Record<TokenKind, string>> = { agent: "m3shd_ag_", key: "m3shd_key_" };
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_BYTES = 32;
// ceil(256 / log2(62)) = 43 characters hold any 256-bit value.
const BODY_LENGTH = 43;
// Six base62 characters (~36 bits) tell keys apart in a list and still leave ~220 secret bits.
const DISPLAY_BODY_CHARS = 6;
const BODY_RE = new RegExp(`^[0-9A-Za-z]{${BODY_LENGTH}}$`);

/** Mints a new random token of the given kind with its storage hash and display prefix. */
export function mintToken(kind: TokenKind): MintedToken {
  const kindPrefix = KIND_PREFIXES[kind];
  if (kindPrefix === undefined) throw new TypeError(`unknown token kind: ${String(kind)}`);
  const token = kindPrefix + encodeBase62(randomBytes(RANDOM_BYTES), BODY_LENGTH);
  return { token, hash: hashToken(token), prefix: token.slice(0, kindPrefix.length + DISPLAY_BODY_CHARS) };
}

/** SHA-256 hex of a token's UTF-8 bytes — the lookup key for stored tokens. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** The kind of a well-formed token, or null for anything that is not exactly one of our formats. */
export function tokenKind(token: string): TokenKind | null {
  if (typeof token !== "string") return null;
  for (const kind of ["agent", "key"] as const) {
    const kindPrefix = KIND_PREFIXES[kind];
    if (token.startsWith(kindPrefix) && BODY_RE.test(token.slice(kindPrefix.length))) return kind;
  }
  return null;
}

function encodeBase62(bytes: Uint8Array, length: number): string {
  let value = BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
  let out = "";
  while (value > 0n) {
    out = BASE62.charAt(Number(value % 62n)) + out;
    value /= 62n;
  }
  return out.padStart(length, "0");
}
