import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  computeProvenanceHash,
  createProvenanceLink,
  encodeProvenanceFields,
  GENESIS_HASH,
  hashOutput,
  type ProvenanceLink,
  verifyChain,
} from "./provenance";

const KEY = Buffer.alloc(32, 7);
const T0 = 1_700_000_000_000;

function buildChain(count: number, key: Uint8Array = KEY): { links: ProvenanceLink[]; outputs: string[] } {
  const links: ProvenanceLink[] = [];
  const outputs: string[] = [];
  let prevHash = GENESIS_HASH;
  for (let i = 0; i < count; i++) {
    const output = `result of task ${i}: ${"·".repeat(i)}`;
    const link = createProvenanceLink({
      key,
      prevHash,
      timestamp: T0 + i * 1000,
      agentId: `agent-${i % 3}`,
      taskId: `task_${String(i).padStart(4, "0")}`,
      output,
    });
    links.push(link);
    outputs.push(output);
    prevHash = link.hash;
  }
  return { links, outputs };
}

describe("provenance encoding", () => {
  it("GENESIS_HASH is 64 zeros", () => {
    expect(GENESIS_HASH).toBe("0".repeat(64));
  });

  it("length-prefixes each field: u32be(len) ‖ utf8 bytes, in order", () => {
    const outputHash = hashOutput("out");
    const encoded = encodeProvenanceFields({
      prevHash: GENESIS_HASH,
      timestamp: 42,
      agentId: "agé",
      taskId: "",
      outputHash,
    });
    const field = (text: string) => {
      const bytes = Buffer.from(text, "utf8");
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      return Buffer.concat([length, bytes]);
    };
    const expected = Buffer.concat([
      field(GENESIS_HASH),
      field("42"),
      field("agé"),
      field(""),
      field(outputHash),
    ]);
    expect(encoded.equals(expected)).toBe(true);
  });

  it("known answer: the link hash is HMAC-SHA256 over that encoding", () => {
    const output = "hello";
    const outputHash = createHash("sha256").update(output).digest("hex");
    const fields = {
      prevHash: GENESIS_HASH,
      timestamp: T0,
      agentId: "agent-a",
      taskId: "task_1",
      outputHash,
    };
    const expected = createHmac("sha256", KEY).update(encodeProvenanceFields(fields)).digest("hex");
    expect(computeProvenanceHash({ key: KEY, ...fields })).toBe(expected);
    expect(computeProvenanceHash({ key: KEY, ...fields, outputHash: undefined, output })).toBe(expected);
    // And a corrupted expectation is caught.
    const corrupted = `${expected.slice(0, -1)}${expected.endsWith("0") ? "1" : "0"}`;
    expect(computeProvenanceHash({ key: KEY, ...fields })).not.toBe(corrupted);
  });

  it("shifting characters between fields changes the hash (no concatenation ambiguity)", () => {
    const base = { key: KEY, prevHash: GENESIS_HASH, timestamp: T0, outputHash: hashOutput("x") };
    const a = computeProvenanceHash({ ...base, agentId: "ab", taskId: "c" });
    const b = computeProvenanceHash({ ...base, agentId: "a", taskId: "bc" });
    const c = computeProvenanceHash({ ...base, agentId: "abc", taskId: "" });
    expect(new Set([a, b, c]).size).toBe(3);
    const t1 = computeProvenanceHash({ ...base, timestamp: 12, agentId: "3", taskId: "t" });
    const t2 = computeProvenanceHash({ ...base, timestamp: 123, agentId: "", taskId: "t" });
    expect(t1).not.toBe(t2);
  });

  it("throws on malformed input when writing a link", () => {
    const base = { key: KEY, prevHash: GENESIS_HASH, timestamp: T0, agentId: "a", taskId: "t", output: "o" };
    expect(() =>
      computeProvenanceHash({ ...base, prevHash: GENESIS_HASH.toUpperCase().replace(/0/g, "A") }),
    ).toThrow(TypeError);
    expect(() => computeProvenanceHash({ ...base, prevHash: "00" })).toThrow(TypeError);
    expect(() => computeProvenanceHash({ ...base, timestamp: 1.5 })).toThrow(TypeError);
    expect(() => computeProvenanceHash({ ...base, timestamp: -1 })).toThrow(TypeError);
    expect(() => computeProvenanceHash({ ...base, key: "short" })).toThrow(TypeError);
    expect(() => computeProvenanceHash({ ...base, key: "" })).toThrow(TypeError);
  });
});

describe("verifyChain", () => {
  it("accepts an intact chain, with and without outputs, and the empty chain", () => {
    const { links, outputs } = buildChain(10);
    expect(verifyChain(KEY, links)).toEqual({ ok: true, length: 10 });
    expect(verifyChain(KEY, links, outputs)).toEqual({ ok: true, length: 10 });
    expect(verifyChain(KEY, [])).toEqual({ ok: true, length: 0 });
  });

  it("a changed output is reported at its index (property over every position)", () => {
    const { links, outputs } = buildChain(8);
    for (let i = 0; i < outputs.length; i++) {
      const tampered = outputs.map((output, j) => (j === i ? `${output} (edited)` : output));
      expect(verifyChain(KEY, links, tampered)).toEqual({
        ok: false,
        index: i,
        reason: "output_hash_mismatch",
      });
    }
  });

  it("a link whose outputHash was swapped for the edited output's is caught by the MAC", () => {
    const { links, outputs } = buildChain(6);
    const edited = "forged output";
    const tampered = links.map((link, j) => (j === 3 ? { ...link, outputHash: hashOutput(edited) } : link));
    const tamperedOutputs = outputs.map((output, j) => (j === 3 ? edited : output));
    expect(verifyChain(KEY, tampered, tamperedOutputs)).toEqual({
      ok: false,
      index: 3,
      reason: "hash_mismatch",
    });
  });

  it("every field edit is detected at that link", () => {
    const { links } = buildChain(5);
    const edits: ((link: ProvenanceLink) => ProvenanceLink)[] = [
      (link) => ({ ...link, timestamp: link.timestamp + 1 }),
      (link) => ({ ...link, agentId: `${link.agentId}x` }),
      (link) => ({ ...link, taskId: `${link.taskId}x` }),
      (link) => ({ ...link, outputHash: hashOutput("other") }),
      (link) => ({ ...link, hash: `${link.hash.slice(0, -1)}${link.hash.endsWith("0") ? "1" : "0"}` }),
    ];
    for (const edit of edits) {
      const tampered = links.map((link, j) => (j === 2 ? edit(link) : link));
      expect(verifyChain(KEY, tampered)).toMatchObject({ ok: false, index: 2, reason: "hash_mismatch" });
    }
  });

  it("swapped links are reported at the first swapped position", () => {
    const { links } = buildChain(6);
    for (let i = 0; i + 1 < links.length; i++) {
      const swapped = [...links];
      const a = swapped[i];
      const b = swapped[i + 1];
      if (a === undefined || b === undefined) throw new Error("unreachable");
      swapped[i] = b;
      swapped[i + 1] = a;
      expect(verifyChain(KEY, swapped)).toEqual({
        ok: false,
        index: i,
        reason: i === 0 ? "genesis_mismatch" : "prev_hash_mismatch",
      });
    }
  });

  it("a broken prev link, a dropped link and a re-rooted first link are reported", () => {
    const { links } = buildChain(6);
    const relinked = links.map((link, j) => (j === 4 ? { ...link, prevHash: GENESIS_HASH } : link));
    expect(verifyChain(KEY, relinked)).toEqual({ ok: false, index: 4, reason: "prev_hash_mismatch" });
    const dropped = links.filter((_, j) => j !== 2);
    expect(verifyChain(KEY, dropped)).toEqual({ ok: false, index: 2, reason: "prev_hash_mismatch" });
    expect(verifyChain(KEY, links.slice(1))).toEqual({ ok: false, index: 0, reason: "genesis_mismatch" });
  });

  it("a chain under another key fails at link 0", () => {
    const { links } = buildChain(3, Buffer.alloc(32, 9));
    expect(verifyChain(KEY, links)).toEqual({ ok: false, index: 0, reason: "hash_mismatch" });
  });

  it("output count mismatches are reported, not thrown", () => {
    const { links, outputs } = buildChain(4);
    expect(verifyChain(KEY, links, outputs.slice(0, 2))).toEqual({
      ok: false,
      index: 2,
      reason: "output_missing",
    });
    expect(verifyChain(KEY, links, [...outputs, "extra"])).toEqual({
      ok: false,
      index: 4,
      reason: "output_unexpected",
    });
  });

  it("malformed links are reported, never thrown", () => {
    const { links } = buildChain(3);
    const junk: unknown[] = [
      null,
      "link",
      {},
      { ...links[1], timestamp: "1700000000000" },
      { ...links[1], timestamp: Number.NaN },
      { ...links[1], hash: links[1]?.hash.toUpperCase() },
      { ...links[1], prevHash: 42 },
      { ...links[1], outputHash: "abc" },
      { ...links[1], agentId: undefined },
    ];
    for (const value of junk) {
      const tampered = [links[0], value, links[2]] as ProvenanceLink[];
      expect(verifyChain(KEY, tampered)).toEqual({ ok: false, index: 1, reason: "malformed_link" });
    }
    expect(verifyChain(KEY, "nope" as unknown as ProvenanceLink[])).toEqual({
      ok: false,
      index: 0,
      reason: "malformed_link",
    });
  });
});
