import { z } from "zod";

/**
 * Every size limit of the mesh, in one place. Byte limits are measured in UTF-8 (what travels on
 * the wire and what the database stores), never in UTF-16 code units: `"é".length === 1` but it is
 * 2 bytes, and an emoji is 2 code units but 4 bytes. Character limits (`*Chars`) are for short
 * human-facing labels and count UTF-16 code units, as `z.string().max()` does.
 */
export const LIMITS = {
  /** Task prompt as submitted by an operator (`CreateTaskBody.prompt`). */
  promptBytes: 8 * 1024,
  /** Chat message content. */
  messageBytes: 50 * 1024,
  /** One streamed chunk of task output. */
  streamChunkBytes: 64 * 1024,
  /** Partial output carried by a handoff. */
  handoffPartialBytes: 32 * 1024,
  /** Final task output on completion. */
  outputBytes: 1024 * 1024,
  /** Error message of a failed task. */
  errorBytes: 8 * 1024,
  /** Free-text reasons (cancel, handoff, escalation notes). */
  reasonBytes: 2 * 1024,
  /** JSON-serialized `meta` object an agent registers with. */
  metaBytes: 4 * 1024,
  /**
   * Ceiling for a raw request body, checked before JSON parsing. Generous on purpose: JSON escaping
   * can inflate a string up to 6× (`\u0001`), so a valid 1 MiB output may arrive as several MiB.
   */
  requestBodyBytes: 8 * 1024 * 1024,
  /** Task and template titles. */
  titleChars: 200,
  /** Agent display names, machine names, model names. */
  nameChars: 128,
  /** Upper bound of `limit` on list endpoints. */
  listLimitMax: 500,
  /** Default `limit` on list endpoints. */
  listLimitDefault: 50,
  /** Upper bound of `wait` (seconds) on the worker long-poll. */
  longPollMaxSeconds: 30,
  /** Capabilities one agent may advertise. */
  capabilitiesMax: 64,
  /** Slots one agent may declare. */
  maxConcurrentMax: 256,
  /** Parents one task may depend on. */
  dependsOnMax: 100,
  /** Cancellation notices one heartbeat lists (and acknowledges) at most. */
  cancelledNoticesMax: 100,
  /** Upper bound of `max_attempts`. */
  maxAttemptsMax: 10,
  /** Default `max_attempts`. */
  maxAttemptsDefault: 3,
  /** Events buffered per SSE subscriber before it is dropped with `subscriber_dropped`. */
  sseSubscriberQueueMax: 500,
  /** Opaque pagination cursor length. */
  cursorChars: 256,
} as const;

export type Limits = typeof LIMITS;

/**
 * UTF-8 byte length of a JS string without allocating (works in Node and browsers alike).
 * Lone surrogates count 3 bytes, as `TextEncoder` and `Buffer.byteLength` encode them to U+FFFD.
 */
export function utf8ByteLength(value: string): number {
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * A zod check capping a string at `maxBytes` UTF-8 bytes: `z.string().check(utf8Max(8192))`.
 * Fails with a standard `too_big` issue (origin `"string"`, `maximum` in bytes) so edge code that
 * maps oversize fields to 413 can recognise it.
 */
export function utf8Max(maxBytes: number): z.core.$ZodCheck<string> {
  return z.superRefine<string>((value, ctx) => {
    // Cheap bounds first: UTF-8 needs at least 1 and at most 3 bytes per UTF-16 code unit.
    if (value.length * 3 <= maxBytes) return;
    if (value.length > maxBytes || utf8ByteLength(value) > maxBytes) {
      ctx.addIssue({
        code: "too_big",
        origin: "string",
        maximum: maxBytes,
        inclusive: true,
        input: value,
        message: `Too big: expected at most ${maxBytes} bytes (UTF-8)`,
      });
    }
  });
}

/** A string schema capped at `maxBytes` UTF-8 bytes. */
export function boundedString(maxBytes: number) {
  return z.string().check(utf8Max(maxBytes));
}
