import { describe, expect, it } from "vitest";
import { DEFAULT_PASSWORD_ITERATIONS, hashPassword, needsRehash, verifyPassword } from "./password";

// Low cost for speed everywhere except the one test that exercises the production default.
const FAST = { iterations: 1_000 };
const FORMAT = /^pbkdf2_sha256\$(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

describe("hashPassword / verifyPassword", () => {
  it("round-trips and encodes iterations, a 16-byte salt and a 32-byte key", async () => {
    const encoded = await hashPassword("correct horse battery staple", FAST);
    const match = FORMAT.exec(encoded);
    expect(match).not.toBeNull();
    expect(match?.[1]).toBe("1000");
    expect(Buffer.from(match?.[2] ?? "", "base64")).toHaveLength(16);
    expect(Buffer.from(match?.[3] ?? "", "base64")).toHaveLength(32);
    expect(await verifyPassword("correct horse battery staple", encoded)).toBe(true);
    expect(await verifyPassword("correct horse battery stapl", encoded)).toBe(false);
    expect(await verifyPassword("", encoded)).toBe(false);
  });

  it("uses a fresh salt per hash", async () => {
    const a = await hashPassword("same", FAST);
    const b = await hashPassword("same", FAST);
    expect(a).not.toBe(b);
    expect(await verifyPassword("same", a)).toBe(true);
    expect(await verifyPassword("same", b)).toBe(true);
  });

  it("handles Unicode and empty passwords as UTF-8 bytes", async () => {
    for (const password of ["pässwörd 🔐", "", " ".repeat(200)]) {
      const encoded = await hashPassword(password, FAST);
      expect(await verifyPassword(password, encoded)).toBe(true);
    }
    const composed = await hashPassword("é", FAST); // U+00E9
    expect(await verifyPassword("e\u0301", composed)).toBe(false); // not normalised
  });

  it("known answer: matches an independent PBKDF2-HMAC-SHA256 (RFC 7914 section 11 vector)", async () => {
    // RFC 7914 §11: PBKDF2-HMAC-SHA256(P="passwd", S="salt", c=1, dkLen=64); its first 32 bytes.
    const salt = Buffer.from("salt").toString("base64");
    const key = "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc";
    const encoded = `pbkdf2_sha256$1$${salt}$${Buffer.from(key, "hex").toString("base64")}`;
    expect(await verifyPassword("passwd", encoded)).toBe(true);
    const corrupted = `pbkdf2_sha256$1$${salt}$${Buffer.from(`00${key.slice(2)}`, "hex").toString("base64")}`;
    expect(await verifyPassword("passwd", corrupted)).toBe(false);
  });

  it("resolves false, never rejects, for malformed encodings", async () => {
    const good = await hashPassword("pw", FAST);
    const [, iterations, salt, key] = good.split("$");
    const malformed: unknown[] = [
      "",
      "pw",
      `pbkdf2_sha1$${iterations}$${salt}$${key}`,
      `bcrypt$${iterations}$${salt}$${key}`,
      `pbkdf2_sha256$0$${salt}$${key}`,
      `pbkdf2_sha256$-1$${salt}$${key}`,
      `pbkdf2_sha256$01000$${salt}$${key}`,
      `pbkdf2_sha256$abc$${salt}$${key}`,
      `pbkdf2_sha256$999999999999$${salt}$${key}`,
      `pbkdf2_sha256$${iterations}$$${key}`,
      `pbkdf2_sha256$${iterations}$${salt}$`,
      `pbkdf2_sha256$${iterations}$${salt}$${key?.slice(0, 20)}`,
      `pbkdf2_sha256$${iterations}$${salt}$${key}AAAA`,
      `pbkdf2_sha256$${iterations}$not*base64$${key}`,
      `pbkdf2_sha256$${iterations}$${salt}$${key}$extra`,
      `pbkdf2_sha256$${iterations}$${salt}`,
      ` ${good}`,
      null,
      undefined,
      42,
    ];
    for (const encoded of malformed) {
      await expect(verifyPassword("pw", encoded as string)).resolves.toBe(false);
    }
    await expect(verifyPassword(undefined as unknown as string, good)).resolves.toBe(false);
  });

  it("refuses invalid iteration counts when hashing", async () => {
    await expect(hashPassword("pw", { iterations: 0 })).rejects.toThrow(RangeError);
    await expect(hashPassword("pw", { iterations: 1.5 })).rejects.toThrow(RangeError);
  });

  it("production default: 310,000 iterations, and the event loop keeps running meanwhile", async () => {
    expect(DEFAULT_PASSWORD_ITERATIONS).toBe(310_000);
    let ticked = false;
    setImmediate(() => {
      ticked = true;
    });
    const encoded = await hashPassword("default cost");
    // A synchronous PBKDF2 would finish before the immediate could run.
    expect(ticked).toBe(true);
    expect(encoded.startsWith("pbkdf2_sha256$310000$")).toBe(true);
    expect(await verifyPassword("default cost", encoded)).toBe(true);
    expect(needsRehash(encoded)).toBe(false);
  });
});

describe("needsRehash", () => {
  it("is true below the target, false at or above it", async () => {
    const encoded = await hashPassword("pw", FAST);
    expect(needsRehash(encoded)).toBe(true);
    expect(needsRehash(encoded, { iterations: 1_000 })).toBe(false);
    expect(needsRehash(encoded, { iterations: 999 })).toBe(false);
    expect(needsRehash(encoded, { iterations: 1_001 })).toBe(true);
  });

  it("is true for unknown or malformed formats and short salts", () => {
    expect(needsRehash("")).toBe(true);
    expect(needsRehash("$2b$12$abcdefghijklmnopqrstuv")).toBe(true);
    expect(needsRehash(null as unknown as string)).toBe(true);
    const shortSalt = `pbkdf2_sha256$400000$${Buffer.alloc(8).toString("base64")}$${Buffer.alloc(32).toString("base64")}`;
    expect(needsRehash(shortSalt)).toBe(true);
  });
});
