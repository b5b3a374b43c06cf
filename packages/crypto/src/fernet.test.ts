import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Fernet, InvalidTokenError, type InvalidTokenReason, MultiFernet } from "./fernet";

type GenerateVector = { token: string; now: string; iv: number[]; src: string; secret: string };
type VerifyVector = { token: string; now: string; ttl_sec: number; src: string; secret: string };
type InvalidVector = { desc: string; token: string; now: string; ttl_sec: number; secret: string };

// Pinned copies of the Fernet spec's files (test/fixtures/SOURCES.md); shape drift fails assertions.
function readJson<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../test/fixtures/fernet/${name}`, import.meta.url), "utf8")) as T;
}

const generateVectors = readJson<GenerateVector[]>("generate.json");
const verifyVectors = readJson<VerifyVector[]>("verify.json");
const invalidVectors = readJson<InvalidVector[]>("invalid.json");

/** The reason each spec case must produce: it pins *why* a token fails, not only that it does. */
const EXPECTED_REASONS: Record<string, InvalidTokenReason> = {
  "incorrect mac": "bad_signature",
  "too short": "malformed",
  "invalid base64": "malformed",
  "payload size not multiple of block size": "malformed",
  "payload padding error": "bad_ciphertext",
  "far-future TS (unacceptable clock skew)": "timestamp_in_future",
  "expired TTL": "expired",
  "incorrect IV (causes padding error)": "bad_ciphertext",
};

function flipTokenChar(token: string, position: number): string {
  const original = token.charAt(position);
  const replacement = original === "A" ? "B" : "A";
  return token.slice(0, position) + replacement + token.slice(position + 1);
}

const T0 = Date.UTC(2024, 0, 1);
const key = Fernet.generateKey();

describe("Fernet spec — generate.json", () => {
  it.each(generateVectors.map((v) => [v.src, v] as const))(
    "encrypting %j gives the exact token",
    (_, vector) => {
      const fernet = new Fernet(vector.secret);
      const token = fernet.encrypt(vector.src, { now: new Date(vector.now), iv: Uint8Array.from(vector.iv) });
      expect(token).toBe(vector.token);
    },
  );

  it("a corrupted vector makes the check fail", () => {
    for (const vector of generateVectors) {
      const fernet = new Fernet(vector.secret);
      const token = fernet.encrypt(vector.src, { now: new Date(vector.now), iv: Uint8Array.from(vector.iv) });
      expect(token).not.toBe(flipTokenChar(vector.token, 20));
    }
  });
});

describe("Fernet spec — verify.json", () => {
  it.each(verifyVectors.map((v) => [v.src, v] as const))("decrypts to %j", (_, vector) => {
    const fernet = new Fernet(vector.secret);
    const options = { ttl: vector.ttl_sec, now: new Date(vector.now) };
    expect(fernet.decrypt(vector.token, options).toString("utf8")).toBe(vector.src);
    const result = fernet.tryDecrypt(vector.token, options);
    expect(result.ok && result.plaintext.toString("utf8")).toBe(vector.src);
    expect(fernet.extractTimestamp(vector.token)).toBe(Math.floor(Date.parse(vector.now) / 1000) - 1);
  });

  it("a corrupted vector makes decryption fail", () => {
    for (const vector of verifyVectors) {
      const fernet = new Fernet(vector.secret);
      const options = { ttl: vector.ttl_sec, now: new Date(vector.now) };
      // Every position, including version, timestamp, IV, ciphertext and MAC.
      for (let position = 0; position < vector.token.length - 2; position++) {
        expect(fernet.tryDecrypt(flipTokenChar(vector.token, position), options).ok).toBe(false);
      }
    }
  });
});

describe("Fernet spec — invalid.json", () => {
  it("lists the eight spec cases", () => {
    expect(invalidVectors.map((v) => v.desc).sort()).toEqual(Object.keys(EXPECTED_REASONS).sort());
  });

  it.each(invalidVectors.map((v) => [v.desc, v] as const))("rejects: %s", (desc, vector) => {
    const fernet = new Fernet(vector.secret);
    const options = { ttl: vector.ttl_sec, now: new Date(vector.now) };
    expect(fernet.tryDecrypt(vector.token, options)).toEqual({ ok: false, reason: EXPECTED_REASONS[desc] });
    expect(() => fernet.decrypt(vector.token, options)).toThrow(InvalidTokenError);
    const multi = new MultiFernet([new Fernet(key), fernet]);
    expect(multi.tryDecrypt(vector.token, options)).toEqual({ ok: false, reason: EXPECTED_REASONS[desc] });
  });

  it("a corrupted vector (its failure condition removed) is accepted — the check can pass", () => {
    const expired = invalidVectors.find((v) => v.desc === "expired TTL");
    if (expired === undefined) throw new Error("fixture lost the expired-TTL case");
    const fernet = new Fernet(expired.secret);
    expect(
      fernet.tryDecrypt(expired.token, { ttl: expired.ttl_sec + 3600, now: new Date(expired.now) }).ok,
    ).toBe(true);
  });
});

describe("Fernet", () => {
  it("round-trips bytes and strings with a generated key", () => {
    const fernet = new Fernet(key);
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    for (const plaintext of ["", "hello", "ü".repeat(100), "x".repeat(16), "y".repeat(17)]) {
      expect(fernet.decrypt(fernet.encrypt(plaintext)).toString("utf8")).toBe(plaintext);
    }
    const bytes = Buffer.from([0, 255, 1, 254]);
    expect(fernet.decrypt(fernet.encrypt(bytes)).equals(bytes)).toBe(true);
  });

  it("accepts raw 32-byte keys equivalent to their base64 form", () => {
    const raw = Buffer.from(key.replaceAll("-", "+").replaceAll("_", "/"), "base64");
    const token = new Fernet(raw).encrypt("same key");
    expect(new Fernet(key).decrypt(token).toString()).toBe("same key");
  });

  it("refuses malformed keys", () => {
    for (const bad of ["", "short", key.slice(0, 43), `${key}A`, key.replace("=", "+"), Buffer.alloc(16)]) {
      expect(() => new Fernet(bad)).toThrow(TypeError);
    }
  });

  it("refuses IVs that are not 16 bytes", () => {
    const fernet = new Fernet(key);
    expect(() => fernet.encrypt("x", { iv: new Uint8Array(15) })).toThrow(TypeError);
    expect(() => new MultiFernet([fernet]).rotate(fernet.encrypt("x"), { iv: new Uint8Array(17) })).toThrow(
      TypeError,
    );
  });

  it("uses a random IV by default", () => {
    const fernet = new Fernet(key);
    expect(fernet.encrypt("x", { now: T0 })).not.toBe(fernet.encrypt("x", { now: T0 }));
  });

  it("TTL boundary: valid at exactly timestamp + ttl, expired one second later", () => {
    const fernet = new Fernet(key);
    const token = fernet.encrypt("x", { now: T0 });
    expect(fernet.tryDecrypt(token, { ttl: 60, now: T0 + 60_000 }).ok).toBe(true);
    expect(fernet.tryDecrypt(token, { ttl: 60, now: T0 + 61_000 })).toEqual({ ok: false, reason: "expired" });
    expect(fernet.tryDecrypt(token, { now: T0 + 10 ** 12 }).ok).toBe(true);
  });

  it("clock skew: up to 60 s in the future is accepted, 61 s is not", () => {
    const fernet = new Fernet(key);
    const token = fernet.encrypt("x", { now: T0 + 61_000 });
    expect(fernet.tryDecrypt(token, { now: T0 + 1_000 }).ok).toBe(true);
    expect(fernet.tryDecrypt(token, { now: T0 })).toEqual({ ok: false, reason: "timestamp_in_future" });
  });

  it("rejects tokens from another key, non-canonical base64 and missing padding", () => {
    const fernet = new Fernet(key);
    const token = fernet.encrypt("hello", { now: T0 });
    expect(new Fernet(Fernet.generateKey()).tryDecrypt(token, { now: T0 })).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect(fernet.tryDecrypt(token.replace(/=+$/, ""), { now: T0 })).toEqual({
      ok: false,
      reason: "malformed",
    });
    // "hello" gives a 73-byte token: its base64 ends in two data characters + "==", and the second
    // has 4 unused low bits. Setting one yields a string Node's lenient decoder maps to the same bytes.
    expect(token.endsWith("==")).toBe(true);
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(token.charAt(token.length - 3));
    const nonCanonical = `${token.slice(0, -3)}${alphabet.charAt(last ^ 1)}==`;
    expect(nonCanonical).not.toBe(token);
    expect(Buffer.from(nonCanonical, "base64url").equals(Buffer.from(token, "base64url"))).toBe(true);
    expect(fernet.tryDecrypt(nonCanonical, { now: T0 })).toEqual({ ok: false, reason: "malformed" });
  });

  it("rejects a wrong version byte before anything else", () => {
    const fernet = new Fernet(key);
    const raw = Buffer.from(fernet.encrypt("x", { now: T0 }), "base64url");
    raw[0] = 0x81;
    const token = raw.toString("base64").replaceAll("+", "-").replaceAll("/", "_");
    expect(fernet.tryDecrypt(token, { now: T0 })).toEqual({ ok: false, reason: "unsupported_version" });
  });

  it("never throws from tryDecrypt on junk", () => {
    const fernet = new Fernet(key);
    for (const junk of [undefined, null, 42, {}, "", "====", "gAAAA", "💥"]) {
      expect(fernet.tryDecrypt(junk as string).ok).toBe(false);
    }
  });

  it("InvalidTokenError is typed and says nothing about the token", () => {
    const fernet = new Fernet(key);
    try {
      fernet.decrypt("gAAAAAAdwJ6xAAECAwQFBgcICQoLDA0OD3HkMATM5lFqGaerZ-fWPA==");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidTokenError);
      expect(error).toBeInstanceOf(Error);
      expect((error as InvalidTokenError).name).toBe("InvalidTokenError");
      expect((error as InvalidTokenError).reason).toBe("malformed");
      expect((error as InvalidTokenError).message).not.toContain("gAAAA");
    }
  });

  it("does not expose key material through inspection", () => {
    const secret = Fernet.generateKey();
    const fernet = new Fernet(secret);
    expect(JSON.stringify(fernet)).toBe("{}");
    expect(Object.keys(fernet)).toEqual([]);
  });
});

describe("MultiFernet", () => {
  const oldKey = new Fernet(Fernet.generateKey());
  const newKey = new Fernet(Fernet.generateKey());

  it("encrypts with the first key and decrypts with any", () => {
    const multi = new MultiFernet([newKey, oldKey]);
    const token = multi.encrypt("fresh", { now: T0 });
    expect(newKey.decrypt(token, { now: T0 }).toString()).toBe("fresh");
    expect(oldKey.tryDecrypt(token, { now: T0 }).ok).toBe(false);
    const legacy = oldKey.encrypt("legacy", { now: T0 });
    expect(multi.decrypt(legacy, { now: T0 }).toString()).toBe("legacy");
    expect(multi.extractTimestamp(legacy)).toBe(T0 / 1000);
  });

  it("rotate re-encrypts under the first key and keeps the original timestamp (property over many tokens)", () => {
    const multi = new MultiFernet([newKey, oldKey]);
    for (let i = 0; i < 50; i++) {
      const now = T0 + i * 3_600_000;
      const plaintext = `message ${i} ${"z".repeat(i)}`;
      const original = (i % 2 === 0 ? oldKey : newKey).encrypt(plaintext, { now });
      const rotated = multi.rotate(original);
      expect(rotated).not.toBe(original);
      expect(newKey.decrypt(rotated, { now }).toString()).toBe(plaintext);
      expect(newKey.extractTimestamp(rotated)).toBe(Math.floor(now / 1000));
      expect(oldKey.tryDecrypt(rotated, { now }).ok).toBe(false);
    }
  });

  it("rotate ignores age (as Python's cryptography does), so an expired token stays expired afterwards", () => {
    const multi = new MultiFernet([newKey, oldKey]);
    const token = oldKey.encrypt("old", { now: T0 });
    const rotated = multi.rotate(token);
    expect(multi.tryDecrypt(rotated, { ttl: 60, now: T0 + 3_600_000 })).toEqual({
      ok: false,
      reason: "expired",
    });
    expect(multi.decrypt(rotated, { ttl: 60, now: T0 + 30_000 }).toString()).toBe("old");
  });

  it("rotate is deterministic given the IV", () => {
    const multi = new MultiFernet([newKey, oldKey]);
    const token = oldKey.encrypt("x", { now: T0 });
    const iv = new Uint8Array(16).fill(7);
    expect(multi.rotate(token, { iv })).toBe(multi.rotate(token, { iv }));
  });

  it("rotate and decrypt refuse tokens no key knows", () => {
    const multi = new MultiFernet([newKey, oldKey]);
    const stranger = new Fernet(Fernet.generateKey()).encrypt("x");
    expect(() => multi.rotate(stranger)).toThrow(InvalidTokenError);
    expect(() => multi.decrypt(stranger)).toThrow(InvalidTokenError);
    expect(multi.tryDecrypt(stranger)).toEqual({ ok: false, reason: "bad_signature" });
  });

  it("reports the authenticated key's reason over bad_signature", () => {
    const multi = new MultiFernet([newKey, oldKey]);
    const token = oldKey.encrypt("x", { now: T0 });
    expect(multi.tryDecrypt(token, { ttl: 1, now: T0 + 10_000 })).toEqual({ ok: false, reason: "expired" });
  });

  it("needs at least one Fernet", () => {
    expect(() => new MultiFernet([])).toThrow(TypeError);
    expect(() => new MultiFernet([key as unknown as Fernet])).toThrow(TypeError);
  });
});
