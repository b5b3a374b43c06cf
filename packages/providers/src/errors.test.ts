import { describe, expect, it } from "vitest";
import { isProviderError, ProviderError, parseRetryAfter, toProviderError } from "./errors";

describe("parseRetryAfter", () => {
  it("reads retry-after-ms, seconds and HTTP dates", () => {
    expect(parseRetryAfter(new Headers({ "retry-after-ms": "250.5" }))).toBe(251);
    expect(parseRetryAfter(new Headers({ "retry-after": "2" }))).toBe(2000);
    expect(parseRetryAfter({ "retry-after": "0.5" })).toBe(500);
    const now = Date.parse("2026-11-25T12:00:00Z");
    expect(parseRetryAfter(new Headers({ "retry-after": "Wed, 25 Nov 2026 12:00:30 GMT" }), now)).toBe(
      30_000,
    );
    expect(parseRetryAfter(new Headers({ "retry-after": "soon" }))).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});

describe("toProviderError", () => {
  const withStatus = (status: number, headers?: Headers) =>
    Object.assign(new Error(`${status}`), { status, headers: headers ?? new Headers() });

  it.each([
    [429, "rate_limited", true],
    [529, "overloaded", true],
    [500, "server_error", true],
    [503, "server_error", true],
    [408, "server_error", true],
    [400, "bad_request", false],
    [422, "bad_request", false],
    [401, "auth", false],
    [403, "auth", false],
    [404, "not_found", false],
  ])("status %i → %s (retryable %s)", (status, code, retryable) => {
    expect(toProviderError(withStatus(status))).toMatchObject({ code, retryable, status });
  });

  it("keeps the retry-after of a 429", () => {
    expect(toProviderError(withStatus(429, new Headers({ "retry-after": "3" })))).toMatchObject({
      retryAfterMs: 3000,
    });
  });

  it("classifies network failures, malformed JSON and unknown errors", () => {
    const reset = new TypeError("fetch failed", {
      cause: Object.assign(new Error("x"), { code: "ECONNRESET" }),
    });
    expect(toProviderError(reset)).toMatchObject({ code: "network", retryable: true });
    expect(toProviderError(new SyntaxError("Unterminated string in JSON at position 9"))).toMatchObject({
      code: "bad_response",
      retryable: true,
    });
    expect(toProviderError(new Error("weird"))).toMatchObject({ code: "unknown", retryable: false });
  });

  it("passes ProviderErrors through and recognises them across copies by brand", () => {
    const err = new ProviderError("x", { code: "timeout", retryable: true });
    expect(toProviderError(err)).toBe(err);
    expect(isProviderError({ ...err, [Symbol.for("@m3shd/providers.error")]: true })).toBe(true);
    expect(isProviderError(new Error("x"))).toBe(false);
  });
});
