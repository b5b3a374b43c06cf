import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { emptyRoot, hashChildren, hashLeaf } from "./merkle-hasher";

type HasherVector =
  | { desc: string; op: "empty_root"; expected: string }
  | { desc: string; op: "hash_leaf"; input_hex: string; expected: string }
  | { desc: string; op: "hash_children"; left_hex: string; right_hex: string; expected: string };

type Rfc6962 = {
  leaves: string[];
  leaf_hashes: string[];
  node_hashes: { levels: string[][] };
  hasher_vectors: HasherVector[];
};

// Pinned public vectors (test/fixtures/SOURCES.md); shape drift fails the assertions.
const rfc = JSON.parse(
  readFileSync(new URL("../test/fixtures/merkle/rfc6962.json", import.meta.url), "utf8"),
) as Rfc6962;

function runHasherVector(vector: HasherVector): string {
  switch (vector.op) {
    case "empty_root":
      return emptyRoot().toString("hex");
    case "hash_leaf":
      return hashLeaf(Buffer.from(vector.input_hex, "hex")).toString("hex");
    case "hash_children":
      return hashChildren(Buffer.from(vector.left_hex, "hex"), Buffer.from(vector.right_hex, "hex")).toString(
        "hex",
      );
  }
}

describe("RFC 6962 hasher — transparency-dev vectors", () => {
  it("has the four hasher vectors", () => {
    expect(rfc.hasher_vectors.map((v) => v.op)).toEqual([
      "empty_root",
      "hash_leaf",
      "hash_leaf",
      "hash_children",
    ]);
  });

  it.each(rfc.hasher_vectors.map((v) => [v.desc, v] as const))("%s", (_, vector) => {
    expect(runHasherVector(vector)).toBe(vector.expected);
  });

  it("leaf hashes of the eight test leaves", () => {
    expect(rfc.leaves).toHaveLength(8);
    expect(rfc.leaves.map((leaf) => hashLeaf(Buffer.from(leaf, "hex")).toString("hex"))).toEqual(
      rfc.leaf_hashes,
    );
  });

  it("every complete subtree hash of the 8-leaf tree", () => {
    const [leaves, ...upper] = rfc.node_hashes.levels;
    expect(leaves).toEqual(rfc.leaf_hashes);
    let below = rfc.leaf_hashes;
    for (const level of upper) {
      const computed: string[] = [];
      for (let i = 0; i + 1 < below.length; i += 2) {
        computed.push(
          hashChildren(Buffer.from(below[i] ?? "", "hex"), Buffer.from(below[i + 1] ?? "", "hex")).toString(
            "hex",
          ),
        );
      }
      expect(computed).toEqual(level);
      below = level;
    }
    expect(below).toHaveLength(1);
  });

  it("an empty leaf is not the empty tree (domain separation)", () => {
    expect(hashLeaf("").equals(emptyRoot())).toBe(false);
  });

  it("a corrupted vector makes the check fail", () => {
    for (const vector of rfc.hasher_vectors) {
      const corrupted = {
        ...vector,
        expected: (vector.expected[0] === "0" ? "1" : "0") + vector.expected.slice(1),
      };
      expect(runHasherVector(corrupted)).not.toBe(corrupted.expected);
    }
  });
});
