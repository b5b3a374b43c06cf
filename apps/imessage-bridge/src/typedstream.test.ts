import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeAttributedBody } from "./typedstream";

interface Example {
  id: string;
  attributedBody_hex: string;
  expected_text: string | null;
  match: "exact" | "prefix" | "error_or_empty";
}
const examples = (
  JSON.parse(
    readFileSync(new URL("../test/fixtures/attributed-body-examples.json", import.meta.url), "utf8"),
  ) as {
    examples: Example[];
  }
).examples;

describe("decodeAttributedBody on the 22 real sample blobs", () => {
  it("has all the samples", () => expect(examples).toHaveLength(22));
  for (const ex of examples) {
    it(ex.id, () => {
      const out = decodeAttributedBody(Buffer.from(ex.attributedBody_hex, "hex"));
      if (ex.match === "error_or_empty") {
        expect(out.ok ? out.text : "").toBe("");
      } else if (ex.match === "prefix") {
        expect(out.ok && out.text.startsWith(ex.expected_text ?? "\u0000")).toBe(true);
      } else {
        expect(out).toEqual({ ok: true, text: ex.expected_text });
      }
    });
  }
});

describe("decodeAttributedBody on hostile bytes", () => {
  const good = Buffer.from(examples[0]?.attributedBody_hex ?? "", "hex");
  it("rejects a bad header", () => {
    expect(decodeAttributedBody(Buffer.from("hello")).ok).toBe(false);
    expect(decodeAttributedBody(null).ok).toBe(false);
  });
  it("never reads past the end of a truncated blob", () => {
    for (let n = 0; n < good.length; n++) {
      const out = decodeAttributedBody(good.subarray(0, n));
      if (out.ok) expect("Noter test".startsWith(out.text)).toBe(true);
    }
  });
  it("refuses invalid UTF-8", () => {
    const bad = Buffer.from(good);
    const at = bad.indexOf(Buffer.from("Noter"));
    bad[at] = 0xff;
    expect(decodeAttributedBody(bad).ok).toBe(false);
  });
  it("reads 0x81 two-byte lengths", () => {
    const text = "x".repeat(300);
    const head = good.subarray(0, good.indexOf(Buffer.from([0x84, 0x01, 0x2b])) + 3);
    const blob = Buffer.concat([
      head,
      Buffer.from([0x81, 0x2c, 0x01]),
      Buffer.from(text),
      Buffer.from([0x86, 0x84]),
    ]);
    expect(decodeAttributedBody(blob)).toEqual({ ok: true, text });
  });
});
