import { createPrivateKey, createPublicKey, sign } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  canonicalJson,
  generateNodeIdentity,
  nodeKeyId,
  readIdentityFile,
  signCanonical,
  verifyCanonical,
  writeIdentityFile,
} from "./node-identity";

const dir = mkdtempSync(join(tmpdir(), "m3shd-identity-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// RFC 8032 section 7.1, TEST 1 (empty message).
const RFC8032 = {
  secret: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
  public: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
  signature:
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
};

describe("canonical JSON", () => {
  it("sorts keys at every depth, drops undefined, keeps array order", () => {
    expect(canonicalJson({ b: 1, a: [3, { d: null, c: "x" }], u: undefined })).toBe(
      '{"a":[3,{"c":"x","d":null}],"b":1}',
    );
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/non-finite/);
  });
});

describe("Ed25519 node identity", () => {
  it("matches the RFC 8032 known answer through the raw-key (JWK) import the hub uses", () => {
    const x = Buffer.from(RFC8032.public, "hex").toString("base64url");
    const pkcs8 = Buffer.concat([
      Buffer.from("302e020100300506032b657004220420", "hex"),
      Buffer.from(RFC8032.secret, "hex"),
    ]);
    const privateKey = createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
    expect(createPublicKey(privateKey).export({ format: "jwk" }).x).toBe(x);
    expect(sign(null, Buffer.alloc(0), privateKey).toString("hex")).toBe(RFC8032.signature);
  });

  it("signs canonical JSON; any change to the payload or signature fails verification, never throws", () => {
    const id = generateNodeIdentity("node-a", 1);
    expect(id.key_id).toBe(nodeKeyId(id.public_key));
    const payload = { task_id: "task_1", attempt: 1, output_sha256: "ab".repeat(32) };
    const signature = signCanonical(id.private_key, payload);
    // Key order does not matter: the same canonical bytes are signed.
    expect(
      verifyCanonical(
        id.public_key,
        { output_sha256: "ab".repeat(32), attempt: 1, task_id: "task_1" },
        signature,
      ),
    ).toEqual({ ok: true });
    expect(verifyCanonical(id.public_key, { ...payload, attempt: 2 }, signature)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    const flipped = (signature[0] === "A" ? "B" : "A") + signature.slice(1);
    expect(verifyCanonical(id.public_key, payload, flipped)).toEqual({ ok: false, reason: "bad_signature" });
    expect(verifyCanonical(generateNodeIdentity().public_key, payload, signature).ok).toBe(false);
    expect(verifyCanonical("nope", payload, signature)).toEqual({ ok: false, reason: "malformed_key" });
    expect(verifyCanonical(id.public_key, payload, "short")).toEqual({
      ok: false,
      reason: "malformed_signature",
    });
    // The last character's unused low bits: another spelling of the same bytes is refused.
    const last = signature.at(-1) as string;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const sibling = alphabet[alphabet.indexOf(last) ^ 1] as string;
    expect(verifyCanonical(id.public_key, payload, signature.slice(0, -1) + sibling)).toEqual({
      ok: false,
      reason: "malformed_signature",
    });
  });

  it("writes the identity file 0600, refuses to overwrite it, and reads it back checked", () => {
    const path = join(dir, "home", "identity.json");
    const id = generateNodeIdentity("node-b", 2);
    writeIdentityFile(path, id);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(() => writeIdentityFile(path, generateNodeIdentity())).toThrow(/EEXIST/);
    expect(readIdentityFile(path)).toEqual(id);
    chmodSync(path, 0o644);
    expect(() => readIdentityFile(path)).toThrow(/readable by others/);
    const other = generateNodeIdentity();
    writeFileSync(path, JSON.stringify({ ...id, private_key: other.private_key }), { mode: 0o600 });
    chmodSync(path, 0o600);
    expect(() => readIdentityFile(path)).toThrow(/do not match/);
  });
});
