/**
 * Decoder for the `message.attributedBody` column: an NSAttributedString archived with Apple's
 * legacy typedstream (NSArchiver) format. Since macOS 13 Ventura many rows have `text = NULL`
 * and carry their text only here, so a bridge that ignores this column silently reads nothing.
 *
 * Layout (checked on every sample in test/fixtures/attributed-body-examples.json):
 *   04 0b "streamtyped" <system version> … class chain "NSMutableString"? → "NSString" …
 *   84 01 2b            (a new shared type string "+", i.e. raw bytes follow)
 *   <length> <UTF-8 bytes> 86 …   (86 ends the string object)
 * Lengths are typedstream integers: one byte if < 0x80, 0x81 + int16 LE, 0x82 + int32 LE.
 *
 * We decode only the string member, not the attribute runs: the bridge needs the text, and a
 * small reader with strict bounds checks is safer on untrusted bytes than a full unarchiver.
 */

export type DecodeResult = { ok: true; text: string } | { ok: false; reason: string };

const HEADER = Buffer.from([0x04, 0x0b, ...Buffer.from("streamtyped", "latin1")]);
const NSSTRING = Buffer.from([0x08, ...Buffer.from("NSString", "latin1")]);
const RAW_TAG = Buffer.from([0x84, 0x01, 0x2b]);
const END_OBJECT = 0x86;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads a typedstream integer at `at`; returns its value and the offset after it. */
function readLength(buf: Buffer, at: number): { value: number; next: number } | null {
  const first = buf[at];
  if (first === undefined) return null;
  if (first === 0x81) {
    if (at + 3 > buf.length) return null;
    return { value: buf.readUInt16LE(at + 1), next: at + 3 };
  }
  if (first === 0x82) {
    if (at + 5 > buf.length) return null;
    return { value: buf.readUInt32LE(at + 1), next: at + 5 };
  }
  if (first >= 0x80) return null; // other tags are not lengths
  return { value: first, next: at + 1 };
}

/** Extracts the plain text of an `attributedBody` blob. Never throws. */
export function decodeAttributedBody(blob: Uint8Array | null | undefined): DecodeResult {
  if (!blob || blob.length === 0) return { ok: false, reason: "empty blob" };
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (buf.length < HEADER.length || !buf.subarray(0, HEADER.length).equals(HEADER)) {
    return { ok: false, reason: "not a typedstream (bad header)" };
  }
  const cls = buf.indexOf(NSSTRING, HEADER.length);
  if (cls < 0) return { ok: false, reason: "no NSString member" };
  // The raw-bytes tag follows the class chain within a few bytes (version, superclass ref).
  const tag = buf.indexOf(RAW_TAG, cls + NSSTRING.length);
  if (tag < 0 || tag > cls + NSSTRING.length + 8)
    return { ok: false, reason: "no string value after NSString" };
  const len = readLength(buf, tag + RAW_TAG.length);
  if (!len) return { ok: false, reason: "bad string length" };
  if (len.value === 0) return { ok: false, reason: "empty string" };
  const end = len.next + len.value;
  if (end <= buf.length && buf[end] === END_OBJECT) {
    try {
      return { ok: true, text: utf8.decode(buf.subarray(len.next, end)) };
    } catch {
      // fall through to the recovery path
    }
  }
  // Recovery for blobs whose length prefix disagrees with the bytes (seen in the wild): the
  // string still ends where the object does (86 84). Decoding stays strict about UTF-8.
  const stop = buf.indexOf(Buffer.from([END_OBJECT, 0x84]), len.next);
  if (stop <= len.next) return { ok: false, reason: "string length out of bounds" };
  try {
    return { ok: true, text: utf8.decode(buf.subarray(len.next, stop)) };
  } catch {
    return { ok: false, reason: "string is not valid UTF-8" };
  }
}
