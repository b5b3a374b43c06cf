import { z } from "zod";

/** Crockford base32 alphabet used by ULIDs (no I, L, O, U). */
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Largest timestamp a ULID can hold (48 bits). */
const ULID_TIME_MAX = 2 ** 48 - 1;

/** A 26-character ULID: 10 chars of millisecond time + 16 chars of randomness. */
export const ULID_PATTERN = "[0-7][0-9A-HJKMNP-TV-Z]{25}";
export const ULID_REGEX = new RegExp(`^${ULID_PATTERN}$`);

/** Prefixes for the ids this package generates. Agents pick their own slug ids instead. */
export const ID_PREFIXES = {
  task: "task",
  message: "msg",
  event: "evt",
  approval: "apr",
  escalation: "esc",
  template: "tpl",
  token: "tok",
  apiKey: "key",
  user: "usr",
  session: "ses",
  webhook: "whk",
  peerHub: "peer",
  entity: "ent",
  audit: "aud",
  cost: "cost",
  memory: "mem",
  ledger: "led",
} as const;
export type IdPrefix = (typeof ID_PREFIXES)[keyof typeof ID_PREFIXES];

const PREFIX_REGEX = /^[a-z][a-z0-9]{0,15}$/;

let lastTime = -1;
const lastRandom = new Uint8Array(10);

function encodeTime(ms: number): string {
  let out = "";
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD.charAt(rest % 32) + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits → 16 base32 chars, most significant bits first.
  let out = "";
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += CROCKFORD.charAt((buffer >> bits) & 31);
    }
    buffer &= (1 << bits) - 1;
  }
  return out;
}

/** Adds one to the 80-bit big-endian counter; returns false on overflow. */
function incrementRandom(bytes: Uint8Array): boolean {
  for (let i = bytes.length - 1; i >= 0; i--) {
    const value = bytes[i] ?? 0;
    if (value < 0xff) {
      bytes[i] = value + 1;
      return true;
    }
    bytes[i] = 0;
  }
  return false;
}

/**
 * A monotonic ULID. Within one millisecond (or if the clock steps backwards) the random part of the
 * previous id is incremented instead of redrawn, so ids from one process always sort in creation
 * order. Uses WebCrypto's `getRandomValues` (global in Node ≥ 19 and browsers) so the package stays
 * usable outside Node. `now` exists for tests; ids never go backwards even if it does.
 */
export function ulid(now: number = Date.now()): string {
  let time = Math.max(Math.floor(now), lastTime);
  if (time === lastTime) {
    if (!incrementRandom(lastRandom)) {
      // 2^80 ids in one millisecond cannot happen in practice; borrow the next millisecond anyway.
      time += 1;
      globalThis.crypto.getRandomValues(lastRandom);
    }
  } else {
    globalThis.crypto.getRandomValues(lastRandom);
  }
  if (time > ULID_TIME_MAX || time < 0) throw new RangeError(`ULID time out of range: ${time}`);
  lastTime = time;
  return encodeTime(time) + encodeRandom(lastRandom);
}

/**
 * A new prefixed, sortable id: `newId("task")` → `task_01J9Z3…` (prefix, `_`, 26-char ULID).
 * Lexicographic order equals creation order within a process.
 */
export function newId<P extends string>(prefix: P): `${P}_${string}` {
  if (!PREFIX_REGEX.test(prefix)) throw new TypeError(`Invalid id prefix: ${JSON.stringify(prefix)}`);
  return `${prefix}_${ulid()}`;
}

/** Milliseconds since the epoch encoded in a ULID or prefixed ULID id; `null` if it is not one. */
export function idTimestamp(id: string): number | null {
  const raw = id.slice(id.lastIndexOf("_") + 1);
  if (!ULID_REGEX.test(raw)) return null;
  let ms = 0;
  for (const char of raw.slice(0, 10)) ms = ms * 32 + CROCKFORD.indexOf(char);
  return ms;
}

/** A schema for `<prefix>_<ULID>` ids, as minted by `newId(prefix)`. */
export function prefixedIdSchema(prefix: string): z.ZodString {
  return z.string().regex(new RegExp(`^${prefix}_${ULID_PATTERN}$`), `Expected a ${prefix}_<ULID> id`);
}

/**
 * Agent id: a slug the worker chooses (`--id NAME`), used in URLs (`/api/agents/:id`).
 * Lowercase ASCII letters, digits and `-`, 1–64 characters.
 */
export const AgentIdSchema = z
  .string()
  .regex(/^[a-z0-9-]{1,64}$/, "Expected an agent id matching ^[a-z0-9-]{1,64}$");
export type AgentId = z.infer<typeof AgentIdSchema>;

/** Capability name (e.g. `research`, `code_review`): lowercase letters, digits, `_`, `-`, 1–64 chars. */
export const CapabilitySchema = z
  .string()
  .regex(/^[a-z0-9_-]{1,64}$/, "Expected a capability name matching ^[a-z0-9_-]{1,64}$");
export type Capability = z.infer<typeof CapabilitySchema>;

/** Task id: `task_` + ULID. */
export const TaskIdSchema = prefixedIdSchema("task");
export type TaskId = z.infer<typeof TaskIdSchema>;

/** Chat message id: `msg_` + ULID. */
export const MessageIdSchema = prefixedIdSchema("msg");
export type MessageId = z.infer<typeof MessageIdSchema>;

/** Approval id: `apr_` + ULID. */
export const ApprovalIdSchema = prefixedIdSchema("apr");
export type ApprovalId = z.infer<typeof ApprovalIdSchema>;

/** Escalation id: `esc_` + ULID. */
export const EscalationIdSchema = prefixedIdSchema("esc");
export type EscalationId = z.infer<typeof EscalationIdSchema>;

/**
 * SSE event id. Opaque to clients (echoed back as `Last-Event-ID`); the hub mints it with
 * `newId("evt")`, so ids from one process sort in emission order. Restricted to a charset that is
 * safe on an SSE `id:` line (no CR/LF/NUL).
 */
export const EventIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "Expected an event id");
export type EventId = z.infer<typeof EventIdSchema>;

/** Milliseconds since the Unix epoch (UTC), as a safe integer. */
export const EpochMsSchema = z.int().min(0).max(8_640_000_000_000_000);
export type EpochMs = z.infer<typeof EpochMsSchema>;

/** Lowercase hex SHA-256 digest (64 chars). */
export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/, "Expected 64 lowercase hex characters");
export type Sha256Hex = z.infer<typeof Sha256HexSchema>;
