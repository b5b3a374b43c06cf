/** Length of `text` in UTF-8 bytes. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/**
 * The longest prefix of `text` that fits in `maxBytes` UTF-8 bytes without splitting a character
 * (a surrogate pair stays whole).
 */
export function utf8Prefix(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  while (end < text.length) {
    const code = text.codePointAt(end) ?? 0;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += code >= 0x10000 ? 2 : 1;
  }
  return text.slice(0, end);
}

/** The longest suffix of `text` that fits in `maxBytes` UTF-8 bytes, without splitting a character. */
export function utf8Suffix(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  let bytes = 0;
  let start = text.length;
  while (start > 0) {
    const low = text.charCodeAt(start - 1);
    const pair = low >= 0xdc00 && low <= 0xdfff && start >= 2;
    const code = pair ? (text.codePointAt(start - 2) ?? 0) : low;
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    if (bytes + size > maxBytes) break;
    bytes += size;
    start -= pair && code >= 0x10000 ? 2 : 1;
  }
  return text.slice(start);
}

/** `text` capped at `maxBytes`, ending with a marker that says it was cut. */
export function capWithNote(text: string, maxBytes: number): string {
  const total = utf8Bytes(text);
  if (total <= maxBytes) return text;
  const note = ` … [cut; ${total} bytes in total]`;
  return utf8Prefix(text, maxBytes - utf8Bytes(note)) + note;
}

/** The end of `text` within `maxBytes`, after a marker that says the start was cut. */
export function tailWithNote(text: string, maxBytes: number): string {
  const total = utf8Bytes(text);
  if (total <= maxBytes) return text;
  const note = `[… start cut; ${total} bytes in total; the end follows …]\n`;
  return note + utf8Suffix(text, maxBytes - utf8Bytes(note));
}
