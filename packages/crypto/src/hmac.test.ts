import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { constantTimeEqual, hmacSha256, sha256Hex, sign, verify } from "./hmac";

type Rfc4231Case = {
  test_case: number;
  key_hex: string;
  data_hex: string;
  data_ascii?: string;
  expected_hmac_sha256_hex: string;
  truncated: boolean;
  truncated_bits?: number;
  full_hmac_sha256_hex_computed?: string;
};

// Fixtures are pinned copies of public vectors (see test/fixtures/SOURCES.md); a shape change shows
// up as failing assertions below, so a plain cast is enough here.
const vectors = JSON.parse(
  readFileSync(new URL("../test/fixtures/hmac/rfc4231.json", import.meta.url), "utf8"),
) as { cases: Rfc4231Case[] };

/** The RFC value to compare against: the full tag, or its leftmost `truncated_bits` for case 5. */
function macUnderTest(vector: Rfc4231Case): string {
  const full = hmacSha256(Buffer.from(vector.key_hex, "hex"), Buffer.from(vector.data_hex, "hex")).toString(
    "hex",
  );
  return vector.truncated ? full.slice(0, (vector.truncated_bits ?? 256) / 4) : full;
}

function flipFirstHexDigit(hex: string): string {
  return (hex[0] === "0" ? "1" : "0") + hex.slice(1);
}

describe("HMAC-SHA256 — RFC 4231 vectors", () => {
  it("covers all seven test cases", () => {
    expect(vectors.cases.map((c) => c.test_case)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it.each(vectors.cases.map((c) => [c.test_case, c] as const))("case %i matches the RFC", (_, vector) => {
    if (vector.data_ascii !== undefined) {
      expect(Buffer.from(vector.data_ascii, "utf8").toString("hex")).toBe(vector.data_hex);
    }
    expect(macUnderTest(vector)).toBe(vector.expected_hmac_sha256_hex);

    const key = Buffer.from(vector.key_hex, "hex");
    const data = Buffer.from(vector.data_hex, "hex");
    const fullTag = vector.truncated ? vector.full_hmac_sha256_hex_computed : vector.expected_hmac_sha256_hex;
    expect(fullTag).toBeDefined();
    expect(sign(key, data)).toBe(fullTag);
    expect(verify(key, data, fullTag ?? "")).toBe(true);
  });

  it("case 5: only the leftmost 128 bits are given, and verify() refuses a truncated tag", () => {
    const vector = vectors.cases.find((c) => c.test_case === 5);
    if (vector === undefined) throw new Error("case 5 missing from fixture");
    expect(vector.truncated).toBe(true);
    expect(vector.expected_hmac_sha256_hex).toHaveLength(32);
    expect(vector.full_hmac_sha256_hex_computed?.startsWith(vector.expected_hmac_sha256_hex)).toBe(true);
    const key = Buffer.from(vector.key_hex, "hex");
    const data = Buffer.from(vector.data_hex, "hex");
    expect(verify(key, data, vector.expected_hmac_sha256_hex)).toBe(false);
  });

  it("string inputs are UTF-8 (case 2 with key 'Jefe')", () => {
    expect(sign("Jefe", "what do ya want for nothing?")).toBe(
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    );
  });

  it("a corrupted vector makes the check fail", () => {
    for (const vector of vectors.cases) {
      const corrupted = {
        ...vector,
        expected_hmac_sha256_hex: flipFirstHexDigit(vector.expected_hmac_sha256_hex),
      };
      expect(macUnderTest(corrupted)).not.toBe(corrupted.expected_hmac_sha256_hex);
      if (!vector.truncated) {
        const key = Buffer.from(vector.key_hex, "hex");
        const data = Buffer.from(vector.data_hex, "hex");
        expect(verify(key, data, corrupted.expected_hmac_sha256_hex)).toBe(false);
      }
    }
  });
});

describe("verify", () => {
  const key = "k".repeat(32);
  const tag = sign(key, "payload");

  it("accepts the right tag in either hex case", () => {
    expect(verify(key, "payload", tag)).toBe(true);
    expect(verify(key, "payload", tag.toUpperCase())).toBe(true);
  });

  it("rejects wrong data, wrong key and every bit flip of the tag", () => {
    expect(verify(key, "payload!", tag)).toBe(false);
    expect(verify(`${key}x`, "payload", tag)).toBe(false);
    const bytes = Buffer.from(tag, "hex");
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      expect(verify(key, "payload", flipped.toString("hex"))).toBe(false);
    }
  });

  it("returns false (never throws) on malformed tags", () => {
    const malformed: unknown[] = [
      "",
      tag.slice(0, 63),
      `${tag}0`,
      `${tag}00`,
      tag.slice(0, 62),
      `${tag.slice(0, 62)}zz`,
      `${tag.slice(0, 62)} 0`,
      `0x${tag.slice(2)}`,
      null,
      undefined,
      42,
      Buffer.from(tag, "hex"),
    ];
    for (const candidate of malformed) {
      expect(verify(key, "payload", candidate as string)).toBe(false);
    }
    // A missing body (e.g. an unparsed request) is a failed check, not a crash.
    expect(verify(key, undefined as unknown as string, tag)).toBe(false);
    expect(verify(undefined as unknown as string, "payload", tag)).toBe(false);
  });
});

describe("constantTimeEqual", () => {
  it("is true only for equal inputs", () => {
    expect(constantTimeEqual("secret-token", "secret-token")).toBe(true);
    expect(constantTimeEqual("secret-token", "secret-tokeN")).toBe(false);
    expect(constantTimeEqual("", "")).toBe(true);
  });

  it("handles different lengths without throwing", () => {
    expect(constantTimeEqual("short", "much-longer-value")).toBe(false);
    expect(constantTimeEqual("", "x")).toBe(false);
    expect(constantTimeEqual(Buffer.alloc(0), Buffer.alloc(1000))).toBe(false);
  });

  it("compares strings by their UTF-8 bytes", () => {
    expect(constantTimeEqual("ünïcode", Buffer.from("ünïcode", "utf8"))).toBe(true);
    expect(constantTimeEqual(Buffer.from([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
  });
});

describe("sha256Hex", () => {
  it("matches FIPS 180-2 'abc'", () => {
    expect(sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
