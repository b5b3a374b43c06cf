import { describe, expect, it } from "vitest";
import { z } from "zod";
import { boundedString, LIMITS, utf8ByteLength, utf8Max } from "./limits";

describe("utf8ByteLength", () => {
  it.each([
    ["", 0],
    ["abc", 3],
    ["é", 2],
    ["€", 3],
    ["👋", 4],
    ["a€👋é", 10],
    ["\ud800", 3], // lone high surrogate → U+FFFD
    ["\udc00x", 4], // lone low surrogate then ASCII
    ["\ud83d\ud83d\udc4b", 7], // lone high, then a valid pair
  ])("%j is %i bytes, as Buffer.byteLength says", (value, bytes) => {
    expect(utf8ByteLength(value)).toBe(bytes);
    expect(Buffer.byteLength(value, "utf8")).toBe(bytes);
  });
});

describe("utf8Max", () => {
  const schema = z.string().check(utf8Max(8));

  it("counts bytes, not characters", () => {
    expect(schema.safeParse("12345678").success).toBe(true);
    expect(schema.safeParse("123456789").success).toBe(false);
    // 4 chars but 12 bytes
    expect(schema.safeParse("€€€€").success).toBe(false);
    // 2 emoji: 4 UTF-16 units, 8 bytes → fits exactly
    expect(schema.safeParse("👋👋").success).toBe(true);
    // 7 ASCII + 1 two-byte char = 9 bytes, only 8 chars
    expect(schema.safeParse("1234567é").success).toBe(false);
  });

  it("reports a too_big issue with the byte maximum", () => {
    const result = schema.safeParse("€€€€");
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([
      expect.objectContaining({
        code: "too_big",
        origin: "string",
        maximum: 8,
        message: "Too big: expected at most 8 bytes (UTF-8)",
      }),
    ]);
  });

  it("enforces the 8 KB prompt limit in bytes", () => {
    const prompt = boundedString(LIMITS.promptBytes);
    expect(prompt.safeParse("a".repeat(8192)).success).toBe(true);
    expect(prompt.safeParse("a".repeat(8193)).success).toBe(false);
    // 2731 euro signs: 2731 characters, 8193 bytes
    expect(prompt.safeParse("€".repeat(2731)).success).toBe(false);
    expect(prompt.safeParse("€".repeat(2730)).success).toBe(true);
    // 2048 emoji: 4096 UTF-16 units, 8192 bytes
    expect(prompt.safeParse("👋".repeat(2048)).success).toBe(true);
    expect(prompt.safeParse(`${"👋".repeat(2048)}a`).success).toBe(false);
  });

  it("has the documented limits", () => {
    expect(LIMITS).toMatchObject({
      promptBytes: 8192,
      messageBytes: 51200,
      streamChunkBytes: 65536,
      handoffPartialBytes: 32768,
      listLimitMax: 500,
      titleChars: 200,
      longPollMaxSeconds: 30,
    });
  });
});
