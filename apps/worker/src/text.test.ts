import { describe, expect, it } from "vitest";
import { capWithNote, tailWithNote, utf8Bytes, utf8Prefix, utf8Suffix } from "./text";

describe("UTF-8 slicing", () => {
  it("never splits a character", () => {
    expect(utf8Prefix("aé😀b", 3)).toBe("aé");
    expect(utf8Prefix("aé😀b", 6)).toBe("aé");
    expect(utf8Prefix("aé😀b", 7)).toBe("aé😀");
    expect(utf8Suffix("aé😀b", 4)).toBe("b");
    expect(utf8Suffix("aé😀b", 5)).toBe("😀b");
    expect(utf8Suffix("aé😀b", 7)).toBe("é😀b");
  });

  it("caps with a note that fits the limit", () => {
    const text = "x".repeat(10_000);
    const capped = capWithNote(text, 1000);
    expect(utf8Bytes(capped)).toBeLessThanOrEqual(1000);
    expect(capped).toContain("10000 bytes in total");
    const tail = tailWithNote(`${"a".repeat(5000)}THE END`, 500);
    expect(utf8Bytes(tail)).toBeLessThanOrEqual(500);
    expect(tail.endsWith("THE END")).toBe(true);
    expect(tail.startsWith("[… start cut")).toBe(true);
    expect(capWithNote("short", 1000)).toBe("short");
  });
});
