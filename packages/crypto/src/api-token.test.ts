import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hashToken, mintToken, tokenKind } from "./api-token";

describe("mintToken", () => {
  it.each([
    ["agent", "m3shd_ag_"],
    ["key", "m3shd_key_"],
  ] as const)("%s tokens: prefix, 43 base62 chars, hash and display prefix", (kind, kindPrefix) => {
    const minted = mintToken(kind);
    expect(minted.token).toMatch(new RegExp(`^${kindPrefix}[0-9A-Za-z]{43}$`));
    expect(minted.hash).toBe(createHash("sha256").update(minted.token).digest("hex"));
    expect(minted.hash).toBe(hashToken(minted.token));
    expect(minted.prefix).toBe(minted.token.slice(0, kindPrefix.length + 6));
    expect(tokenKind(minted.token)).toBe(kind);
  });

  it("never repeats (10,000 tokens) and uses the whole alphabet", () => {
    const tokens = new Set<string>();
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const { token } = mintToken(i % 2 === 0 ? "agent" : "key");
      tokens.add(token);
      for (const ch of token.slice(token.lastIndexOf("_") + 1)) seen.add(ch);
    }
    expect(tokens.size).toBe(10_000);
    expect(seen.size).toBe(62);
  });

  it("refuses unknown kinds", () => {
    expect(() => mintToken("admin" as "agent")).toThrow(TypeError);
  });
});

describe("hashToken", () => {
  it("is SHA-256 hex of the UTF-8 token (known answer)", () => {
    expect(hashToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

describe("tokenKind", () => {
  const body = "A".repeat(43);
  it("recognises exactly our two formats", () => {
    expect(tokenKind(`m3shd_ag_${body}`)).toBe("agent");
    expect(tokenKind(`m3shd_key_${body}`)).toBe("key");
  });

  it("returns null for anything else", () => {
    const junk: unknown[] = [
      "",
      "m3shd_ag_",
      `m3shd_ag_${body}A`,
      `m3shd_ag_${body.slice(1)}`,
      `m3shd_ag_${body.slice(1)}-`,
      `m3shd_ag_${body.slice(1)}_`,
      `m3shd_xx_${body}`,
      `M3SHD_AG_${body}`,
      ` m3shd_ag_${body}`,
      `m3shd_ag_${body}\n`,
      null,
      42,
    ];
    for (const value of junk) expect(tokenKind(value as string)).toBeNull();
  });
});
