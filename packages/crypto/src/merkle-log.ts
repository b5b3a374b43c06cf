import type { BytesLike } from "./encoding";
import { emptyRoot, hashChildren, hashLeaf, MERKLE_HASH_SIZE } from "./merkle-hasher";

/**
 * Append-only RFC 6962 Merkle log held in memory.
 *
 * Every complete, aligned subtree hash is cached as leaves arrive (`levels[h][i]` covers leaves
 * `[i·2^h, (i+1)·2^h)`), so an append costs one hash amortised, and a root or proof for any size up
 * to the current one costs O(log² n) hashes with no recursion deeper than log₂ n. Memory is about
 * two 32-byte hashes per leaf (≈6.4 MB for 100k leaves).
 *
 * Hashes go in and come out as Buffers; returned Buffers are copies, so callers cannot corrupt the
 * cache by mutating them.
 */
export class MerkleLog {
  readonly #levels: Buffer[][] = [[]];

  /** Creates a log, optionally pre-filled with leaf hashes (each 32 bytes). */
  constructor(leafHashes: Iterable<Uint8Array> = []) {
    for (const leafHash of leafHashes) this.append(leafHash);
  }

  /** Number of leaves in the log. */
  get size(): number {
    return this.#level(0).length;
  }

  /** Appends a 32-byte leaf hash and returns its index. */
  append(leafHash: Uint8Array): number {
    if (!(leafHash instanceof Uint8Array) || leafHash.length !== MERKLE_HASH_SIZE) {
      throw new TypeError(`leaf hash must be ${MERKLE_HASH_SIZE} bytes`);
    }
    const leaves = this.#level(0);
    leaves.push(Buffer.from(leafHash));
    const leafIndex = leaves.length - 1;
    // Each time a node lands on an odd position it completes a pair: hash the pair one level up,
    // and repeat while the new parent completes a pair in turn.
    let level = 0;
    let index = leafIndex;
    while (index % 2 === 1) {
      const parent = hashChildren(this.#node(level, index - 1), this.#node(level, index));
      level += 1;
      if (this.#levels.length === level) this.#levels.push([]);
      const parents = this.#level(level);
      parents.push(parent);
      index = parents.length - 1;
    }
    return leafIndex;
  }

  /** Hashes raw entry data as an RFC 6962 leaf, appends it, and returns its index. */
  appendData(data: BytesLike): number {
    return this.append(hashLeaf(data));
  }

  /** The leaf hash at `index`. */
  leafHash(index: number): Buffer {
    checkIndex(index, this.size, "index");
    return Buffer.from(this.#node(0, index));
  }

  /** Root hash of the first `size` leaves (default: all); the empty tree's root for size 0. */
  root(size: number = this.size): Buffer {
    checkSize(size, 0, this.size, "size");
    if (size === 0) return emptyRoot();
    return Buffer.from(this.#subtreeHash(0, size));
  }

  /** RFC 6962 audit path for leaf `index` in the tree of the first `size` leaves, leaf side first. */
  inclusionProof(index: number, size: number = this.size): Buffer[] {
    checkSize(size, 1, this.size, "size");
    checkIndex(index, size, "index");
    // Walk down from the root, remembering the sibling of each subtree that contains the leaf;
    // RFC 6962 lists them bottom-up.
    const siblings: Buffer[] = [];
    let start = 0;
    let end = size;
    while (end - start > 1) {
      const split = start + largestPowerOfTwoBelow(end - start);
      if (index < split) {
        siblings.push(this.#subtreeHash(split, end));
        end = split;
      } else {
        siblings.push(this.#subtreeHash(start, split));
        start = split;
      }
    }
    return siblings.reverse().map((hash) => Buffer.from(hash));
  }

  /**
   * RFC 6962 consistency proof that the tree of the first `fromSize` leaves is a prefix of the tree
   * of the first `toSize` leaves (default: all). Empty when the sizes are equal. `fromSize` 0 is
   * refused because verifiers reject proofs from the empty tree as meaningless.
   */
  consistencyProof(fromSize: number, toSize: number = this.size): Buffer[] {
    checkSize(toSize, 1, this.size, "toSize");
    checkSize(fromSize, 1, toSize, "fromSize");
    if (fromSize === toSize) return [];
    // Iterative form of SUBPROOF(m, D[start:end], b) from RFC 6962 section 2.1.2: descend towards the
    // old tree's right edge, collecting the sibling subtree at every step.
    const siblings: Buffer[] = [];
    let oldLeaves = fromSize;
    let start = 0;
    let end = toSize;
    let isOldRootKnown = true;
    while (oldLeaves !== end - start) {
      const half = largestPowerOfTwoBelow(end - start);
      if (oldLeaves <= half) {
        siblings.push(this.#subtreeHash(start + half, end));
        end = start + half;
      } else {
        siblings.push(this.#subtreeHash(start, start + half));
        start += half;
        oldLeaves -= half;
        isOldRootKnown = false;
      }
    }
    // When the old tree is itself a complete subtree on the path, the verifier already has its hash
    // (it is root1), so RFC 6962 leaves it out.
    const head = isOldRootKnown ? [] : [this.#subtreeHash(start, end)];
    return [...head, ...siblings.reverse()].map((hash) => Buffer.from(hash));
  }

  /** MTH(D[start:end]) for 0 ≤ start < end ≤ size, using cached complete subtrees. */
  #subtreeHash(start: number, end: number): Buffer {
    const count = end - start;
    if (count === 1) return this.#node(0, start);
    const half = largestPowerOfTwoBelow(count);
    if (half * 2 === count && start % count === 0) return this.#node(log2Exact(count), start / count);
    return hashChildren(this.#subtreeHash(start, start + half), this.#subtreeHash(start + half, end));
  }

  #level(level: number): Buffer[] {
    const nodes = this.#levels[level];
    if (nodes === undefined) throw new Error(`MerkleLog invariant broken: no level ${level}`);
    return nodes;
  }

  #node(level: number, index: number): Buffer {
    const node = this.#level(level)[index];
    if (node === undefined) throw new Error(`MerkleLog invariant broken: no node ${level}/${index}`);
    return node;
  }
}

/** Largest power of two strictly below `n` (n ≥ 2): RFC 6962's split point `k`. */
function largestPowerOfTwoBelow(n: number): number {
  // A loop instead of Math.log2, whose rounding is wrong for values just below large powers of two.
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function log2Exact(powerOfTwo: number): number {
  let level = 0;
  for (let n = powerOfTwo; n > 1; n /= 2) level += 1;
  return level;
}

function checkSize(value: number, min: number, max: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

function checkIndex(value: number, size: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0 || value >= size) {
    throw new RangeError(`${name} must be an integer in [0, ${size - 1}], got ${String(value)}`);
  }
}
