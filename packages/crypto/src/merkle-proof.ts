import { hashChildren, MERKLE_HASH_SIZE } from "./merkle-hasher";
import { MerkleLog } from "./merkle-log";

/**
 * Stateless RFC 6962 tree functions and proof verification.
 *
 * The verifiers are a port of transparency-dev/merkle `proof/verify.go` (equivalent to RFC 9162
 * sections 2.1.3.2 and 2.1.4.2) and are checked against its golden probe files. Tree sizes and
 * indexes may be numbers (safe integers) or bigints (uint64 range); bit arithmetic runs on bigints
 * because JavaScript's `&`, `^`, `>>` truncate to 32 bits.
 */

/** Outcome of a proof verification; `reason` says what failed and is meant for logs. */
export type MerkleVerifyResult = { ok: true } | { ok: false; reason: string };

/** Arguments of `verifyInclusion`. */
export type InclusionProofInput = {
  /** 0-based index of the leaf. */
  leafIndex: number | bigint;
  treeSize: number | bigint;
  leafHash: Uint8Array;
  /** Audit path, leaf side first. */
  proof: readonly Uint8Array[];
  root: Uint8Array;
};

/** Arguments of `verifyConsistency`. */
export type ConsistencyProofInput = {
  size1: number | bigint;
  size2: number | bigint;
  root1: Uint8Array;
  root2: Uint8Array;
  proof: readonly Uint8Array[];
};

const MAX_UINT64 = (1n << 64n) - 1n;

/** RFC 6962 root of a list of 32-byte leaf hashes (any length, including 0). O(n), no deep recursion. */
export function merkleRoot(leafHashes: readonly Uint8Array[]): Buffer {
  return new MerkleLog(leafHashes).root();
}

/** RFC 6962 audit path for leaf `index` of the tree over `leafHashes`, leaf side first. */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number): Buffer[] {
  return new MerkleLog(leafHashes).inclusionProof(index);
}

/** RFC 6962 consistency proof from the tree of the first `fromSize` leaves to the tree of all of them. */
export function consistencyProof(leafHashes: readonly Uint8Array[], fromSize: number): Buffer[] {
  return new MerkleLog(leafHashes).consistencyProof(fromSize);
}

/** Recomputes the root implied by an inclusion proof, or says why the proof is malformed. */
export function rootFromInclusionProof(
  input: Omit<InclusionProofInput, "root">,
): { ok: true; root: Buffer } | { ok: false; reason: string } {
  if (typeof input !== "object" || input === null) return fail("input is not an object");
  const index = toUint64(input.leafIndex);
  const size = toUint64(input.treeSize);
  if (index === null) return fail("leafIndex is not a non-negative integer");
  if (size === null) return fail("treeSize is not a non-negative integer");
  if (index >= size) return fail(`index is beyond size: ${index} >= ${size}`);
  if (!isHash(input.leafHash)) return fail(`leafHash is not a ${MERKLE_HASH_SIZE}-byte hash`);
  const proof = checkProof(input.proof);
  if (typeof proof === "string") return fail(proof);

  const { inner, border } = decomposeInclusionProof(index, size);
  if (proof.length !== inner + border) {
    return fail(`wrong proof size ${proof.length}, want ${inner + border}`);
  }
  let hash = chainInner(input.leafHash, proof.slice(0, inner), index);
  hash = chainBorderRight(hash, proof.slice(inner));
  return { ok: true, root: Buffer.from(hash) };
}

/** Verifies that `leafHash` is leaf `leafIndex` of the tree of size `treeSize` with root `root`. */
export function verifyInclusion(input: InclusionProofInput): MerkleVerifyResult {
  const computed = rootFromInclusionProof(input);
  if (!computed.ok) return computed;
  if (!(input.root instanceof Uint8Array)) return fail("root is not bytes");
  return matchRoot(computed.root, input.root, "root");
}

/**
 * Verifies that the tree of size `size1` with root `root1` is a prefix of the tree of size `size2`
 * with root `root2`. Policy, as in transparency-dev/merkle at the vendored commit: size1 = 0 is
 * always rejected (a proof from the empty tree proves nothing); equal sizes need an empty proof and
 * equal roots.
 */
export function verifyConsistency(input: ConsistencyProofInput): MerkleVerifyResult {
  if (typeof input !== "object" || input === null) return fail("input is not an object");
  const size1 = toUint64(input.size1);
  const size2 = toUint64(input.size2);
  if (size1 === null) return fail("size1 is not a non-negative integer");
  if (size2 === null) return fail("size2 is not a non-negative integer");
  const proof = checkProof(input.proof);
  if (typeof proof === "string") return fail(proof);
  if (!(input.root1 instanceof Uint8Array)) return fail("root1 is not bytes");
  if (!(input.root2 instanceof Uint8Array)) return fail("root2 is not bytes");

  if (size2 < size1) return fail(`size2 (${size2}) < size1 (${size1})`);
  if (size1 === 0n) return fail("consistency proof from empty tree is meaningless");
  if (size1 === size2) {
    if (proof.length > 0) return fail("size1 = size2, but proof is not empty");
    // Only equality matters here; hash length is deliberately not checked, matching the reference
    // implementation (its golden happy-path for equal sizes uses short placeholder roots).
    return matchRoot(input.root1, input.root2, "root2");
  }
  if (proof.length === 0) return fail("empty proof");
  if (!isHash(input.root1)) return fail(`root1 is not a ${MERKLE_HASH_SIZE}-byte hash`);
  if (!isHash(input.root2)) return fail(`root2 is not a ${MERKLE_HASH_SIZE}-byte hash`);

  const decomposed = decomposeInclusionProof(size1 - 1n, size2);
  const shift = trailingZeros(size1);
  // shift < inner whenever size1 < size2, so this stays positive.
  const inner = decomposed.inner - shift;
  const border = decomposed.border;

  // The proof starts with the hash of the largest complete subtree on the old tree's right edge,
  // unless size1 is a power of two: then that subtree is the whole old tree and its hash is root1.
  const isOldTreeComplete = size1 === 1n << BigInt(shift);
  const start = isOldTreeComplete ? 0 : 1;
  const seed = isOldTreeComplete ? input.root1 : proof[0];
  if (seed === undefined || proof.length !== start + inner + border) {
    return fail(`wrong proof size ${proof.length}, want ${start + inner + border}`);
  }
  const path = proof.slice(start);
  const innerPath = path.slice(0, inner);
  const borderPath = path.slice(inner);
  const mask = (size1 - 1n) >> BigInt(shift);

  const hash1 = chainBorderRight(chainInnerRight(seed, innerPath, mask), borderPath);
  const first = matchRoot(hash1, input.root1, "root1");
  if (!first.ok) return first;
  const hash2 = chainBorderRight(chainInner(seed, innerPath, mask), borderPath);
  return matchRoot(hash2, input.root2, "root2");
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

function isHash(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === MERKLE_HASH_SIZE;
}

/** Returns the proof when every element is a 32-byte hash, otherwise a reason. */
function checkProof(proof: unknown): readonly Uint8Array[] | string {
  if (!Array.isArray(proof)) return "proof is not an array";
  for (let i = 0; i < proof.length; i++) {
    if (!isHash(proof[i])) return `proof[${i}] is not a ${MERKLE_HASH_SIZE}-byte hash`;
  }
  return proof;
}

function matchRoot(computed: Uint8Array, expected: Uint8Array, name: string): MerkleVerifyResult {
  // Roots are public, so a plain comparison leaks nothing worth protecting.
  if (Buffer.from(computed).equals(Buffer.from(expected))) return { ok: true };
  return fail(`${name} mismatch: calculated ${Buffer.from(computed).toString("hex")}`);
}

function toUint64(value: unknown): bigint | null {
  if (typeof value === "bigint") return value >= 0n && value <= MAX_UINT64 ? value : null;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return null;
}

/** Splits an inclusion proof into the part below and above the point where the paths to `index` and `size - 1` diverge. */
function decomposeInclusionProof(index: bigint, size: bigint): { inner: number; border: number } {
  const inner = bitLength(index ^ (size - 1n));
  const border = popCount(index >> BigInt(inner));
  return { inner, border };
}

function chainInner(seed: Uint8Array, proof: readonly Uint8Array[], index: bigint): Uint8Array {
  let hash = seed;
  proof.forEach((sibling, i) => {
    hash = ((index >> BigInt(i)) & 1n) === 0n ? hashChildren(hash, sibling) : hashChildren(sibling, hash);
  });
  return hash;
}

function chainInnerRight(seed: Uint8Array, proof: readonly Uint8Array[], index: bigint): Uint8Array {
  let hash = seed;
  proof.forEach((sibling, i) => {
    if (((index >> BigInt(i)) & 1n) === 1n) hash = hashChildren(sibling, hash);
  });
  return hash;
}

function chainBorderRight(seed: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let hash = seed;
  for (const sibling of proof) hash = hashChildren(sibling, hash);
  return hash;
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

function popCount(x: bigint): number {
  let count = 0;
  for (const bit of x.toString(2)) if (bit === "1") count += 1;
  return count;
}

function trailingZeros(x: bigint): number {
  if (x === 0n) return 64;
  let count = 0;
  for (let v = x; (v & 1n) === 0n; v >>= 1n) count += 1;
  return count;
}
