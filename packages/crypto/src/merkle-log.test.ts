import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { emptyRoot, hashChildren, hashLeaf } from "./merkle-hasher";
import { MerkleLog } from "./merkle-log";
import { verifyConsistency, verifyInclusion } from "./merkle-proof";

/**
 * Independent O(n) reference for large trees: hash level by level, carrying an odd last node up
 * unchanged. For RFC 6962's left-balanced trees this gives the same root as the recursive definition.
 */
function bottomUpRoot(leaves: Buffer[]): Buffer {
  if (leaves.length === 0) return emptyRoot();
  let level = leaves;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i];
      const right = level[i + 1];
      if (left === undefined) throw new Error("unreachable");
      next.push(right === undefined ? left : hashChildren(left, right));
    }
    level = next;
  }
  return level[0] ?? emptyRoot();
}

function makeLeaves(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => hashLeaf(`entry ${i}`));
}

describe("MerkleLog", () => {
  it("starts empty with the empty root", () => {
    const log = new MerkleLog();
    expect(log.size).toBe(0);
    expect(log.root().equals(emptyRoot())).toBe(true);
  });

  it("append returns consecutive indexes and appendData hashes as a leaf", () => {
    const log = new MerkleLog();
    expect(log.append(hashLeaf("a"))).toBe(0);
    expect(log.appendData("b")).toBe(1);
    expect(log.leafHash(1).equals(hashLeaf("b"))).toBe(true);
    expect(log.size).toBe(2);
  });

  it("historical roots match a log built only up to that size", () => {
    const leaves = makeLeaves(70);
    const log = new MerkleLog(leaves);
    for (let size = 0; size <= 70; size++) {
      expect(log.root(size).equals(bottomUpRoot(leaves.slice(0, size)))).toBe(true);
    }
  });

  it("proofs against historical sizes verify against historical roots", () => {
    const log = new MerkleLog(makeLeaves(40));
    for (let size = 1; size <= 40; size += 3) {
      for (let index = 0; index < size; index += 2) {
        const result = verifyInclusion({
          leafIndex: index,
          treeSize: size,
          leafHash: log.leafHash(index),
          proof: log.inclusionProof(index, size),
          root: log.root(size),
        });
        expect(result).toEqual({ ok: true });
      }
      for (let from = 1; from <= size; from += 5) {
        const result = verifyConsistency({
          size1: from,
          size2: size,
          root1: log.root(from),
          root2: log.root(size),
          proof: log.consistencyProof(from, size),
        });
        expect(result).toEqual({ ok: true });
      }
    }
  });

  it("returned hashes are copies: mutating them does not corrupt the log", () => {
    const log = new MerkleLog(makeLeaves(5));
    const before = log.root();
    log.root().fill(0);
    log.leafHash(0).fill(0);
    for (const hash of log.inclusionProof(4)) hash.fill(0);
    expect(log.root().equals(before)).toBe(true);
  });

  it("copies appended hashes: mutating the caller's buffer does not corrupt the log", () => {
    const leaf = hashLeaf("x");
    const log = new MerkleLog([leaf]);
    leaf.fill(0);
    expect(log.leafHash(0).equals(hashLeaf("x"))).toBe(true);
  });

  it("rejects bad leaf hashes and out-of-range sizes", () => {
    const log = new MerkleLog(makeLeaves(3));
    expect(() => log.append(Buffer.alloc(33))).toThrow(TypeError);
    expect(() => log.root(4)).toThrow(RangeError);
    expect(() => log.root(1.5)).toThrow(RangeError);
    expect(() => log.leafHash(3)).toThrow(RangeError);
    expect(() => log.inclusionProof(0, 0)).toThrow(RangeError);
    expect(() => log.consistencyProof(2, 4)).toThrow(RangeError);
    expect(() => log.consistencyProof(3, 2)).toThrow(RangeError);
  });

  it("handles 100k leaves: O(n) build, cheap roots and proofs", () => {
    const count = 100_000;
    const leaves = Array.from({ length: count }, (_, i) => {
      const data = Buffer.alloc(4);
      data.writeUInt32BE(i);
      return createHash("sha256")
        .update(Buffer.from([0]))
        .update(data)
        .digest();
    });
    const started = performance.now();
    const log = new MerkleLog();
    for (const leaf of leaves) log.append(leaf);
    const root = log.root();
    const proofs = [0, 1, 65_535, 65_536, 99_998, 99_999].map((index) => ({
      index,
      proof: log.inclusionProof(index),
    }));
    const consistency = log.consistencyProof(65_537);
    const elapsed = performance.now() - started;

    expect(root.equals(bottomUpRoot(leaves))).toBe(true);
    for (const { index, proof } of proofs) {
      const leafHash = leaves[index] ?? Buffer.alloc(0);
      expect(verifyInclusion({ leafIndex: index, treeSize: count, leafHash, proof, root })).toEqual({
        ok: true,
      });
    }
    expect(
      verifyConsistency({
        size1: 65_537,
        size2: count,
        root1: log.root(65_537),
        root2: root,
        proof: consistency,
      }),
    ).toEqual({ ok: true });
    // Generous bound: the point is "not quadratic", which would take minutes, not a benchmark.
    expect(elapsed).toBeLessThan(10_000);
  });
});
