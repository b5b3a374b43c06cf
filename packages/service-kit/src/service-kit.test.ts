import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isM3shdError, toErrorBody } from "@m3shd/protocol";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { envFlag, jsonBody, loadOrCreateSecret, parseEnv, queryParams } from "./index";

function app() {
  const a = new Hono();
  a.onError((err, c) => c.json(toErrorBody(err), (isM3shdError(err) ? err.status : 500) as 400));
  a.post("/echo", ...jsonBody(z.strictObject({ n: z.int() }), 64), (c) => c.json(c.req.valid("json")));
  a.get("/q", queryParams(z.strictObject({ limit: z.coerce.number<string>().int().max(500) })), (c) =>
    c.json(c.req.valid("query")),
  );
  return a;
}

const post = (body: string, type = "application/json") =>
  app().request("/echo", { method: "POST", headers: { "content-type": type }, body });

describe("jsonBody", () => {
  it("maps each kind of bad body to its status with the error envelope", async () => {
    expect((await post('{"n":1}')).status).toBe(200);
    expect(await (await post('{"n":1}')).json()).toEqual({ n: 1 });
    expect((await post("{nope")).status).toBe(400);
    expect((await post('{"n":1}', "text/plain")).status).toBe(415);
    const invalid = await post('{"n":"x"}');
    expect(invalid.status).toBe(422);
    expect(((await invalid.json()) as { error: { code: string } }).error.code).toBe("validation_failed");
  });

  it("refuses an oversized body before parsing it and closes the connection", async () => {
    const res = await post(JSON.stringify({ n: 1, pad: "x".repeat(100) }));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
    // The unread rest of the body must not be taken for the next request on a keep-alive socket.
    expect(res.headers.get("connection")).toBe("close");
  });

  it("validates query strings with a 422", async () => {
    expect((await app().request("/q?limit=5")).status).toBe(200);
    expect((await app().request("/q?limit=501")).status).toBe(422);
    expect((await app().request("/q?limit=5&extra=1")).status).toBe(422);
  });
});

describe("loadOrCreateSecret", () => {
  it("creates the file once with mode 0600 and tightens a loose one", () => {
    const dir = mkdtempSync(join(tmpdir(), "m3shd-kit-"));
    const path = join(dir, "nested", "secret");
    let calls = 0;
    const first = loadOrCreateSecret(path, () => `s-${++calls}`);
    expect(first).toEqual({ value: "s-1", created: true });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSecret(path, () => `s-${++calls}`)).toEqual({ value: "s-1", created: false });
    expect(calls).toBe(1);
    chmodSync(path, 0o644);
    loadOrCreateSecret(path, () => "unused");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    writeFileSync(path, "\n");
    expect(() => loadOrCreateSecret(path, () => "x")).toThrow(/empty/);
    expect(readFileSync(path, "utf8")).toBe("\n");
  });
});

describe("parseEnv", () => {
  const Schema = z.object({
    PORT: z.coerce.number().int().max(65535).default(7700),
    SECRET: z.string().min(8),
  });

  it("applies defaults and coercions", () => {
    expect(parseEnv(Schema, { SECRET: "long-enough" }, "test")).toEqual({
      PORT: 7700,
      SECRET: "long-enough",
    });
  });

  it("lists every bad variable by name, never its value", () => {
    let message = "";
    try {
      parseEnv(Schema, { PORT: "99999", SECRET: "short" }, "test");
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^Invalid test configuration:\n {2}PORT: .+\n {2}SECRET: .+$/);
    expect(message).not.toContain("short");
  });
});

describe("envFlag", () => {
  const Schema = z.object({ FLAG: envFlag(true), OFF: envFlag(false) });

  it("reads the same words everywhere; empty or unset is the default", () => {
    for (const [raw, want] of [
      [undefined, true],
      ["", true],
      ["  ", true],
      ["1", true],
      ["TRUE", true],
      ["yes", true],
      ["on", true],
      ["0", false],
      ["false", false],
      ["No", false],
      ["off", false],
    ] as const) {
      expect(parseEnv(Schema, { FLAG: raw }, "test").FLAG).toBe(want);
    }
    expect(parseEnv(Schema, {}, "test").OFF).toBe(false);
  });

  it("refuses anything else, naming the variable", () => {
    expect(() => parseEnv(Schema, { FLAG: "enabled" }, "test")).toThrow(
      /Invalid test configuration:\n {2}FLAG: expected one of 1, true, yes, on, 0, false, no, off/,
    );
  });
});
