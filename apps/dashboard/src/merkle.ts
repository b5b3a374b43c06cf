/**
 * RFC 6962 / RFC 9162 inclusion-proof verification in the browser, on WebCrypto's SHA-256
 * (`@m3shd/crypto` is built on `node:crypto`, so it cannot run here). A test checks this against
 * `@m3shd/crypto`'s own log and verifier, proof for proof. Returns a result, never throws on a bad proof.
 */

export type VerifyResult = { ok: true } | { ok: false; reason: string };

export function hexToBytes(hex: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/i.test(hex)) throw new Error("not hex");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", buf));
}

/** Leaf hash: SHA-256(0x00 ‖ data). */
export function hashLeaf(data: Uint8Array): Promise<Uint8Array> {
  return sha256(Uint8Array.of(0), data);
}

/** Interior node: SHA-256(0x01 ‖ left ‖ right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(Uint8Array.of(1), left, right);
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

/**
 * Verifies that `leafHash` is at `leafIndex` of the tree of `treeSize` leaves whose root is `root`
 * (RFC 9162 §2.1.3.2). Index arithmetic is done with division, not 32-bit bit operators.
 */
export async function verifyInclusion(input: {
  leafIndex: number;
  treeSize: number;
  leafHash: Uint8Array;
  proof: readonly Uint8Array[];
  root: Uint8Array;
}): Promise<VerifyResult> {
  const { leafIndex, treeSize, leafHash, proof, root } = input;
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(treeSize) || leafIndex < 0) {
    return { ok: false, reason: "bad index or size" };
  }
  if (leafIndex >= treeSize) return { ok: false, reason: `index ${leafIndex} is not below size ${treeSize}` };
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  const odd = (n: number) => n % 2 === 1;
  for (const p of proof) {
    if (p.length !== 32) return { ok: false, reason: "proof node is not 32 bytes" };
    if (sn === 0) return { ok: false, reason: "proof is too long" };
    if (odd(fn) || fn === sn) {
      r = await hashChildren(p, r);
      while (!odd(fn) && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return { ok: false, reason: "proof is too short" };
  return equal(r, root) ? { ok: true } : { ok: false, reason: "computed root does not match" };
}
