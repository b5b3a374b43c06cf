import { createHash } from "node:crypto";
import { type BytesLike, toBuffer } from "./encoding";

/**
 * RFC 6962 section 2.1 hashing with SHA-256. The 0x00 / 0x01 prefixes separate leaves from interior
 * nodes, so no interior node can be passed off as a leaf (second-preimage attack on the tree).
 */

/** Size in bytes of every leaf, node and root hash. */
export const MERKLE_HASH_SIZE = 32;

const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** Root of the empty tree: SHA-256 of the empty string. */
export function emptyRoot(): Buffer {
  return createHash("sha256").digest();
}

/** Leaf hash: SHA-256(0x00 ‖ data); strings are UTF-8. */
export function hashLeaf(data: BytesLike): Buffer {
  return createHash("sha256").update(LEAF_PREFIX).update(toBuffer(data)).digest();
}

/** Interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash("sha256").update(NODE_PREFIX).update(left).update(right).digest();
}
