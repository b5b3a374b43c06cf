import { describe, expect, it } from "vitest";
import { associatedData, open, pad, seal, unpad } from "./aead";
import { Blinder } from "./blind";
import {
  deriveAgentKeys,
  formatKek,
  generateKek,
  kekIdOf,
  parseKek,
  parseKekRing,
  unwrapAgentRoot,
  wrapAgentRoot,
} from "./kek";
import {
  generateRecoveryKeyPair,
  openWithRecoveryKey,
  parseRecoveryPrivateKey,
  parseRecoveryPublicKey,
  sealForRecovery,
} from "./recovery";

const KEY = Buffer.alloc(32, 7);

describe("AES-256-GCM envelope", () => {
  it("round-trips and refuses tampering, wrong keys and wrong associated data", () => {
    const aad = associatedData("entry", "alpha", "mem_1");
    const sealed = seal(KEY, Buffer.from("hello"), aad);
    expect(open(KEY, sealed, aad)?.toString()).toBe("hello");
    expect(open(Buffer.alloc(32, 8), sealed, aad)).toBeNull();
    expect(open(KEY, sealed, associatedData("entry", "beta", "mem_1"))).toBeNull();
    const flipped = Buffer.from(sealed);
    flipped[14] = (flipped[14] ?? 0) ^ 1;
    expect(open(KEY, flipped, aad)).toBeNull();
    expect(open(KEY, sealed.subarray(0, 10), aad)).toBeNull();
    // Fresh nonce each time: the same plaintext never seals alike.
    expect(seal(KEY, Buffer.from("hello"), aad).equals(sealed)).toBe(false);
  });

  it("length-prefixes associated data so part boundaries matter", () => {
    expect(associatedData("ab", "c").equals(associatedData("a", "bc"))).toBe(false);
  });

  it("pads to 64-byte blocks", () => {
    for (const n of [0, 1, 59, 60, 61, 1000]) {
      const padded = pad(Buffer.alloc(n, 1));
      expect(padded.length % 64).toBe(0);
      expect(unpad(padded)?.length).toBe(n);
    }
    expect(pad(Buffer.alloc(60)).length).toBe(64);
    expect(pad(Buffer.alloc(61)).length).toBe(128);
    expect(unpad(Buffer.from([0, 0, 1, 0]))).toBeNull();
  });
});

describe("KEKs and agent keys", () => {
  it("parses the text forms and identifies keys by fingerprint", () => {
    const text = generateKek();
    const kek = parseKek(text);
    expect(kek.id).toMatch(/^kek_[0-9a-f]{16}$/);
    expect(parseKek(kek.key.toString("hex")).id).toBe(kek.id);
    expect(parseKek(new Uint8Array(kek.key)).id).toBe(kek.id);
    expect(formatKek(kek.key)).toBe(text);
    expect(kekIdOf(kek.key)).toBe(kek.id);
    expect(() => parseKek("m3shd-kek-v1:short")).toThrow(TypeError);
    expect(() => parseKek("zz".repeat(32))).toThrow(TypeError);
    expect(parseKekRing([text, text, generateKek()])).toHaveLength(2);
    expect(() => parseKekRing([])).toThrow();
  });

  it("wraps agent roots bound to agent and generation", () => {
    const kek = parseKek(generateKek());
    const root = Buffer.alloc(64, 3);
    const wrapped = wrapAgentRoot(kek, root, "alpha", 1);
    expect(unwrapAgentRoot(kek, wrapped, "alpha", 1)?.equals(root)).toBe(true);
    expect(unwrapAgentRoot(kek, wrapped, "beta", 1)).toBeNull();
    expect(unwrapAgentRoot(kek, wrapped, "alpha", 2)).toBeNull();
    expect(unwrapAgentRoot(parseKek(generateKek()), wrapped, "alpha", 1)).toBeNull();
    const keys = deriveAgentKeys(root);
    expect(keys.enc.equals(keys.idx)).toBe(false);
    expect(deriveAgentKeys(root).enc.equals(keys.enc)).toBe(true);
  });

  it("blinds per key and per purpose", () => {
    const a = new Blinder(Buffer.alloc(32, 1));
    const b = new Blinder(Buffer.alloc(32, 2));
    expect(a.term("harbor")).toMatch(/^[0-9a-f]{16}$/);
    expect(a.term("harbor")).toBe(a.term("harbor"));
    expect(a.term("harbor")).not.toBe(b.term("harbor"));
    expect(a.key("harbor").equals(a.tag("harbor"))).toBe(false);
  });
});

describe("recovery escrow", () => {
  it("seals to the public key and opens only with the matching private key", () => {
    const pair = generateRecoveryKeyPair();
    const pub = parseRecoveryPublicKey(pair.publicKey);
    const priv = parseRecoveryPrivateKey(pair.privateKey);
    expect(pub.id).toBe(pair.id);
    expect(priv.id).toBe(pair.id);
    const root = Buffer.alloc(64, 9);
    const sealed = sealForRecovery(pub, root, "alpha", 3);
    expect(openWithRecoveryKey(priv, sealed, "alpha", 3)?.equals(root)).toBe(true);
    expect(openWithRecoveryKey(priv, sealed, "alpha", 4)).toBeNull();
    expect(
      openWithRecoveryKey(parseRecoveryPrivateKey(generateRecoveryKeyPair().privateKey), sealed, "alpha", 3),
    ).toBeNull();
    expect(openWithRecoveryKey(priv, sealed.subarray(0, 40), "alpha", 3)).toBeNull();
  });

  it("refuses spliced or malformed key text", () => {
    const a = generateRecoveryKeyPair();
    const b = generateRecoveryKeyPair();
    const [, aBody] = a.privateKey.split(":");
    const [, bBody] = b.privateKey.split(":");
    const spliced = `m3shd-mrk-sec-v1:${aBody?.split(".")[0]}.${bBody?.split(".")[1]}`;
    expect(() => parseRecoveryPrivateKey(spliced)).toThrow(/do not match/);
    expect(() => parseRecoveryPrivateKey("nope")).toThrow(TypeError);
    expect(() => parseRecoveryPublicKey(a.privateKey)).toThrow(TypeError);
  });
});
