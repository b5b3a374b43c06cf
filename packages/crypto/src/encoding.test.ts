import { describe, expect, it } from "vitest";
import { decodeBase64, decodeBase64Url, decodeHex, encodeBase64Url, toBuffer } from "./encoding";

describe("strict decoders", () => {
  it("hex: whole pairs only", () => {
    expect(decodeHex("00ff")?.toString("hex")).toBe("00ff");
    expect(decodeHex("00FF")?.toString("hex")).toBe("00ff");
    expect(decodeHex("")?.length).toBe(0);
    for (const bad of ["0", "0g", "00 ", "zz", "deadbeefXX"]) expect(decodeHex(bad)).toBeNull();
  });

  it("base64: padded and canonical only", () => {
    expect(decodeBase64("AAEC")?.toString("hex")).toBe("000102");
    expect(decodeBase64("AA==")?.toString("hex")).toBe("00");
    for (const bad of ["AA", "AA=", "AB==", "A===", "AA==AA==", "AA-_", "****"])
      expect(decodeBase64(bad)).toBeNull();
  });

  it("base64url: padded and canonical only", () => {
    const bytes = Buffer.from([0xfb, 0xff, 0xfe]);
    expect(encodeBase64Url(bytes)).toBe("-__-");
    expect(decodeBase64Url("-__-")?.equals(bytes)).toBe(true);
    expect(decodeBase64Url(encodeBase64Url(Buffer.from([1])))?.toString("hex")).toBe("01");
    for (const bad of ["+//+", "AQ", "AR==", "%%%%"]) expect(decodeBase64Url(bad)).toBeNull();
  });

  it("toBuffer views byte input without copying and encodes strings as UTF-8", () => {
    const bytes = new Uint8Array([1, 2, 3, 4]).subarray(1, 3);
    const view = toBuffer(bytes);
    expect([...view]).toEqual([2, 3]);
    view[0] = 9;
    expect(bytes[0]).toBe(9);
    expect(toBuffer("é").toString("hex")).toBe("c3a9");
  });
});
