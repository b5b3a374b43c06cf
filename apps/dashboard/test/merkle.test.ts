import { MerkleLog, hashLeaf as nodeHashLeaf } from "@m3shd/crypto";
import { describe, expect, test } from "vitest";
import { bytesToHex, hashLeaf, verifyInclusion } from "../src/merkle";

/**
 * The browser's RFC 6962 verifier (WebCrypto, which Node also has) against `@m3shd/crypto`'s log:
 * every proof the hub's own code produces verifies here, and any tampering fails.
 */
describe("in-browser Merkle inclusion check", () => {
  test("accepts every proof of @m3shd/crypto's log for sizes 1..40, rejects tampered ones", async () => {
    for (let size = 1; size <= 40; size++) {
      const log = new MerkleLog();
      const leaves: Uint8Array[] = [];
      for (let i = 0; i < size; i++) {
        const data = new TextEncoder().encode(`leaf-${i}`);
        const leaf = await hashLeaf(data);
        expect(bytesToHex(leaf)).toBe(nodeHashLeaf(data).toString("hex"));
        leaves.push(leaf);
        log.append(Buffer.from(leaf));
      }
      const root = new Uint8Array(log.root());
      for (let i = 0; i < size; i++) {
        const proof = log.inclusionProof(i).map((h) => new Uint8Array(h));
        const leafHash = leaves[i] as Uint8Array;
        expect(await verifyInclusion({ leafIndex: i, treeSize: size, leafHash, proof, root })).toEqual({
          ok: true,
        });
        const other = leaves[(i + 1) % size] as Uint8Array;
        if (size > 1) {
          expect(
            (await verifyInclusion({ leafIndex: i, treeSize: size, leafHash: other, proof, root })).ok,
          ).toBe(false);
        }
        if (proof.length > 0) {
          const bad = proof.map((p) => p.slice());
          const first = bad[0] as Uint8Array;
          first[0] = (first[0] ?? 0) ^ 1;
          expect(
            (await verifyInclusion({ leafIndex: i, treeSize: size, leafHash, proof: bad, root })).ok,
          ).toBe(false);
          expect(
            (await verifyInclusion({ leafIndex: i, treeSize: size, leafHash, proof: proof.slice(1), root }))
              .ok,
          ).toBe(false);
        }
        expect((await verifyInclusion({ leafIndex: size, treeSize: size, leafHash, proof, root })).ok).toBe(
          false,
        );
      }
    }
  });
});
