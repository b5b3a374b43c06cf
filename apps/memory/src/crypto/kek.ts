import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import { associatedData, open, seal } from "./aead";

/** A key-encryption key: 32 random bytes, identified by a keyed fingerprint (never by the key). */
export interface Kek {
  /** `kek_` + 16 hex chars of HMAC-SHA256(key, label); safe to store and log. */
  id: string;
  key: Buffer;
}

/** What callers may pass as a KEK: `m3shd-kek-v1:<base64url>`, 64 hex characters, or 32 raw bytes. */
export type KekInput = string | Uint8Array;

const KEK_PREFIX = "m3shd-kek-v1:";
const BASE64URL_32 = /^[A-Za-z0-9_-]{43}$/;
const HEX_32 = /^[0-9a-fA-F]{64}$/;

/** A new random KEK in its text form (`m3shd-kek-v1:…`). */
export function generateKek(): string {
  return `${KEK_PREFIX}${randomBytes(32).toString("base64url")}`;
}

/** The KEK's id: a keyed fingerprint that identifies it without revealing anything about it. */
export function kekIdOf(key: Buffer): string {
  return `kek_${createHmac("sha256", key).update("m3shd.memory.kek-id.v1").digest("hex").slice(0, 16)}`;
}

/** Parses one KEK; throws a TypeError that never echoes the input. */
export function parseKek(input: KekInput): Kek {
  let key: Buffer | null = null;
  if (typeof input === "string") {
    const text = input.trim();
    if (text.startsWith(KEK_PREFIX)) {
      const body = text.slice(KEK_PREFIX.length);
      if (BASE64URL_32.test(body)) key = Buffer.from(body, "base64url");
    } else if (HEX_32.test(text)) {
      key = Buffer.from(text, "hex");
    }
  } else if (input instanceof Uint8Array && input.length === 32) {
    key = Buffer.from(input);
  }
  if (key?.length !== 32) {
    throw new TypeError(
      "A KEK must be 32 bytes: `m3shd-kek-v1:<base64url>`, 64 hex characters, or raw bytes",
    );
  }
  return { id: kekIdOf(key), key };
}

/** Parses a key ring: newest (primary) first, duplicates dropped. At least one key. */
export function parseKekRing(input: KekInput | readonly KekInput[]): Kek[] {
  const list = Array.isArray(input) ? (input as readonly KekInput[]) : [input as KekInput];
  const ring: Kek[] = [];
  for (const item of list) {
    const kek = parseKek(item);
    if (!ring.some((k) => k.id === kek.id)) ring.push(kek);
  }
  if (ring.length === 0) throw new TypeError("At least one KEK is required");
  return ring;
}

/** The text form of a KEK, as written to key files. */
export function formatKek(key: Buffer): string {
  return `${KEK_PREFIX}${key.toString("base64url")}`;
}

/** Per-agent key material: 64 random bytes from which the encryption and blind-index keys derive. */
export const AGENT_ROOT_BYTES = 64;

/** The two working keys of one agent key generation. */
export interface AgentKeys {
  /** AES-256-GCM key for values and merge records. */
  enc: Buffer;
  /** HMAC-SHA256 key for blind-index tokens (terms, keys, tags). */
  idx: Buffer;
}

/** Derives the working keys from an agent root (HKDF-SHA256, one label per purpose). */
export function deriveAgentKeys(root: Buffer): AgentKeys {
  const salt = Buffer.from("m3shd.memory.agent-keys.v1");
  return {
    enc: Buffer.from(hkdfSync("sha256", root, salt, "enc", 32)),
    idx: Buffer.from(hkdfSync("sha256", root, salt, "idx", 32)),
  };
}

function wrapAad(agentId: string, generation: number): Buffer {
  return associatedData("m3shd.memory.dek.v1", agentId, generation);
}

/** Wraps an agent root under a KEK, bound to the agent and generation it belongs to. */
export function wrapAgentRoot(kek: Kek, root: Buffer, agentId: string, generation: number): Buffer {
  return seal(kek.key, root, wrapAad(agentId, generation));
}

/** Unwraps an agent root; `null` when the KEK is wrong or the record was moved or tampered with. */
export function unwrapAgentRoot(kek: Kek, wrapped: Uint8Array, agentId: string, generation: number) {
  const root = open(kek.key, wrapped, wrapAad(agentId, generation));
  return root && root.length === AGENT_ROOT_BYTES ? root : null;
}
