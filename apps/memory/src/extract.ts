import { utf8ByteLength } from "@m3shd/protocol";
import { MEMORY_LIMITS } from "./limits";
import { normalizeKey } from "./text";

/** Why a `[REMEMBER]` block was not stored. */
export type MalformedReason =
  | "unclosed" // an opening tag with no closing tag before the next opening tag or the end
  | "stray_close" // a closing tag with no opening tag
  | "missing_colon" // no `key: value` separator
  | "empty_key"
  | "multiline_key" // the text before the first colon spans lines: not a key
  | "key_too_long"
  | "empty_value"
  | "value_too_large";

export interface RememberBlock {
  key: string;
  value: string;
}

export interface ParsedRememberBlocks {
  blocks: RememberBlock[];
  /** Blocks (or stray tags) ignored as malformed. */
  malformed: number;
  reasons: Partial<Record<MalformedReason, number>>;
  /** Well-formed blocks beyond `MEMORY_LIMITS.extractBlocksMax`, not stored. */
  skipped: number;
}

const TAG = /\[(\/?)REMEMBER\]/gi;

/**
 * Finds `[REMEMBER] key: value [/REMEMBER]` blocks in a task output. Tags are case-insensitive;
 * the key is the text before the first colon (one line), the value everything after it up to the
 * closing tag (may span lines; trimmed). Nesting is not a thing: an opening tag inside an open block
 * makes the outer one malformed (`unclosed`) and starts a new block. Pure: no I/O, never throws.
 */
export function parseRememberBlocks(output: string): ParsedRememberBlocks {
  const result: ParsedRememberBlocks = { blocks: [], malformed: 0, reasons: {}, skipped: 0 };
  const bad = (reason: MalformedReason) => {
    result.malformed++;
    result.reasons[reason] = (result.reasons[reason] ?? 0) + 1;
  };
  let openEnd = -1;
  for (const match of output.matchAll(TAG)) {
    const isClose = match[1] === "/";
    if (!isClose) {
      if (openEnd >= 0) bad("unclosed");
      openEnd = match.index + match[0].length;
      continue;
    }
    if (openEnd < 0) {
      bad("stray_close");
      continue;
    }
    const body = output.slice(openEnd, match.index);
    openEnd = -1;
    const parsed = parseBody(body);
    if (typeof parsed === "string") {
      bad(parsed);
      continue;
    }
    if (result.blocks.length >= MEMORY_LIMITS.extractBlocksMax) {
      result.skipped++;
      continue;
    }
    result.blocks.push(parsed);
  }
  if (openEnd >= 0) bad("unclosed");
  return result;
}

function parseBody(body: string): RememberBlock | MalformedReason {
  const colon = body.indexOf(":");
  if (colon < 0) return "missing_colon";
  const rawKey = body.slice(0, colon).trim();
  if (rawKey.length === 0) return "empty_key";
  if (/[\r\n]/.test(rawKey)) return "multiline_key";
  const key = normalizeKey(rawKey);
  if (key.length === 0) return "empty_key";
  if (key.length > MEMORY_LIMITS.keyChars) return "key_too_long";
  const value = body.slice(colon + 1).trim();
  if (value.length === 0) return "empty_value";
  if (utf8ByteLength(value) > MEMORY_LIMITS.valueBytes) return "value_too_large";
  return { key, value };
}
