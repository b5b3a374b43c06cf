import { timingSafeEqual } from "node:crypto";
import { type BytesLike, toBuffer } from "./encoding";
import { hmacSha256, sha256Hex } from "./hmac";

/**
 * Provenance chain: every task output an agent produces is recorded as a link
 *
 *   hash = HMAC-SHA256(key, encode(prevHash, timestamp, agentId, taskId, sha256hex(output)))
 *
 * where `prevHash` is the previous link's `hash` (or GENESIS_HASH for the first link). Editing,
 * dropping, reordering or inserting a link breaks the linkage from that point on, and without the key
 * nobody can forge a replacement.
 *
 * Encoding: each of the five fields is turned into UTF-8 bytes and written as a 4-byte big-endian
 * length followed by the bytes, in the order above; `timestamp` is written as its decimal digits.
 * Plain concatenation would be ambiguous (agent "ab" + task "c" and agent "a" + task "bc" would
 * produce the same MAC input), and a separator would need escaping rules; length prefixes need neither.
 */

/** The `prevHash` of the first link of every chain: 64 "0" characters. */
export const GENESIS_HASH = "0".repeat(64);

/** One link of a provenance chain. Hashes are lowercase hex; `timestamp` is Unix epoch milliseconds. */
export type ProvenanceLink = {
  prevHash: string;
  hash: string;
  timestamp: number;
  agentId: string;
  taskId: string;
  outputHash: string;
};

/** The fields that make up a link's MAC input, without the key. */
export type ProvenanceFields = Omit<ProvenanceLink, "hash">;

/** Input for computing a link: the output itself, or its SHA-256 hex if the output lives elsewhere. */
export type ProvenanceInput = {
  /** HMAC key of the chain, at least 16 bytes (use 32 random bytes). */
  key: BytesLike;
  prevHash: string;
  /** Unix epoch milliseconds, a non-negative safe integer. */
  timestamp: number;
  agentId: string;
  taskId: string;
} & ({ output: BytesLike; outputHash?: undefined } | { outputHash: string; output?: undefined });

/** Why `verifyChain` rejected a chain. */
export type ChainFailureReason =
  | "malformed_link"
  | "genesis_mismatch"
  | "prev_hash_mismatch"
  | "hash_mismatch"
  | "output_hash_mismatch"
  | "output_missing"
  | "output_unexpected";

/** Outcome of `verifyChain`; on failure `index` is the first link (or output) that is wrong. */
export type ChainVerifyResult =
  | { ok: true; length: number }
  | { ok: false; index: number; reason: ChainFailureReason };

// Hashes are compared and MACed as text, so exactly one spelling (lowercase) is valid; otherwise
// "AB…" and "ab…" would be two different links for the same bytes.
const HASH_HEX_RE = /^[0-9a-f]{64}$/;
const MIN_KEY_BYTES = 16;

/** SHA-256 of a task output as lowercase hex, the `outputHash` of a link. */
export function hashOutput(output: BytesLike): string {
  return sha256Hex(output);
}

/** Builds the unambiguous MAC input of a link (see the module comment for the layout). */
export function encodeProvenanceFields(fields: ProvenanceFields): Buffer {
  const problem = checkFields(fields);
  if (problem !== null) throw new TypeError(`invalid provenance fields: ${problem}`);
  const parts = [
    fields.prevHash,
    String(fields.timestamp),
    fields.agentId,
    fields.taskId,
    fields.outputHash,
  ].map((part) => Buffer.from(part, "utf8"));
  const out = Buffer.alloc(parts.reduce((sum, part) => sum + 4 + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    offset = out.writeUInt32BE(part.length, offset);
    offset += part.copy(out, offset);
  }
  return out;
}

/** Computes a link hash (lowercase hex). Throws TypeError on malformed input — this is the writer side. */
export function computeProvenanceHash(input: ProvenanceInput): string {
  return createProvenanceLink(input).hash;
}

/** Computes a link and returns the full record to store. */
export function createProvenanceLink(input: ProvenanceInput): ProvenanceLink {
  const key = checkedKey(input.key);
  const fields: ProvenanceFields = {
    prevHash: input.prevHash,
    timestamp: input.timestamp,
    agentId: input.agentId,
    taskId: input.taskId,
    outputHash: resolveOutputHash(input),
  };
  return { ...fields, hash: hmacSha256(key, encodeProvenanceFields(fields)).toString("hex") };
}

/**
 * Verifies a whole chain from genesis and reports the FIRST broken link. When `outputs` is given it
 * must hold one output per link, and each is checked against its link's `outputHash`. Bad data yields
 * `{ ok: false }`; only a key shorter than 16 bytes (a configuration bug) throws.
 */
export function verifyChain(
  key: BytesLike,
  links: readonly ProvenanceLink[],
  outputs?: readonly BytesLike[],
): ChainVerifyResult {
  const macKey = checkedKey(key);
  if (!Array.isArray(links)) return { ok: false, index: 0, reason: "malformed_link" };
  let expectedPrev = GENESIS_HASH;
  for (let index = 0; index < links.length; index++) {
    const link: unknown = links[index];
    if (!isLinkShaped(link) || checkFields(link) !== null || !HASH_HEX_RE.test(link.hash)) {
      return { ok: false, index, reason: "malformed_link" };
    }
    if (link.prevHash !== expectedPrev) {
      return { ok: false, index, reason: index === 0 ? "genesis_mismatch" : "prev_hash_mismatch" };
    }
    const recomputed = hmacSha256(macKey, encodeProvenanceFields(link));
    if (!timingSafeEqual(recomputed, Buffer.from(link.hash, "hex"))) {
      return { ok: false, index, reason: "hash_mismatch" };
    }
    if (outputs !== undefined) {
      if (index >= outputs.length) return { ok: false, index, reason: "output_missing" };
      const output: unknown = outputs[index];
      if (typeof output !== "string" && !(output instanceof Uint8Array)) {
        return { ok: false, index, reason: "output_hash_mismatch" };
      }
      if (hashOutput(output) !== link.outputHash) {
        return { ok: false, index, reason: "output_hash_mismatch" };
      }
    }
    expectedPrev = link.hash;
  }
  if (outputs !== undefined && outputs.length > links.length) {
    return { ok: false, index: links.length, reason: "output_unexpected" };
  }
  return { ok: true, length: links.length };
}

function resolveOutputHash(input: ProvenanceInput): string {
  if (input.output !== undefined) return hashOutput(input.output);
  if (typeof input.outputHash === "string") return input.outputHash;
  throw new TypeError("provenance input needs `output` or `outputHash`");
}

function checkedKey(key: BytesLike): Buffer {
  const bytes = typeof key === "string" || key instanceof Uint8Array ? toBuffer(key) : null;
  if (bytes === null || bytes.length < MIN_KEY_BYTES) {
    // An empty or tiny key usually means missing configuration; MACs under it would be forgeable.
    throw new TypeError(`provenance key must be at least ${MIN_KEY_BYTES} bytes`);
  }
  return bytes;
}

function isLinkShaped(value: unknown): value is ProvenanceLink {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.prevHash === "string" &&
    typeof record.hash === "string" &&
    typeof record.timestamp === "number" &&
    typeof record.agentId === "string" &&
    typeof record.taskId === "string" &&
    typeof record.outputHash === "string"
  );
}

/** Returns a description of the first malformed field, or null when all are well-formed. */
function checkFields(fields: ProvenanceFields): string | null {
  if (typeof fields.prevHash !== "string" || !HASH_HEX_RE.test(fields.prevHash)) {
    return "prevHash must be 64 lowercase hex characters";
  }
  if (!Number.isSafeInteger(fields.timestamp) || fields.timestamp < 0) {
    return "timestamp must be a non-negative integer (epoch milliseconds)";
  }
  if (typeof fields.agentId !== "string") return "agentId must be a string";
  if (typeof fields.taskId !== "string") return "taskId must be a string";
  if (typeof fields.outputHash !== "string" || !HASH_HEX_RE.test(fields.outputHash)) {
    return "outputHash must be 64 lowercase hex characters";
  }
  return null;
}
