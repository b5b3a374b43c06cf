import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  ConflictError,
  ERROR_CODES,
  ErrorBodySchema,
  type ErrorCode,
  ForbiddenError,
  httpStatusForErrorCode,
  IllegalTransitionError,
  isM3shdError,
  LimitExceededError,
  M3shdError,
  NotFoundError,
  RateLimitedError,
  toErrorBody,
  UnauthorizedError,
  UnavailableError,
  ValidationError,
} from "./errors";

describe("httpStatusForErrorCode", () => {
  it("maps every code to its status", () => {
    const expected: Record<ErrorCode, number> = {
      bad_request: 400,
      validation_failed: 422,
      unauthorized: 401,
      forbidden: 403,
      not_found: 404,
      conflict: 409,
      illegal_transition: 409,
      stale_attempt: 409,
      payload_too_large: 413,
      unsupported_media_type: 415,
      rate_limited: 429,
      unavailable: 503,
      internal: 500,
    };
    expect(Object.keys(expected).sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ERROR_CODES) expect(httpStatusForErrorCode(code)).toBe(expected[code]);
  });

  it("maps only `internal` to a 5xx other than unavailable", () => {
    const fiveHundreds = ERROR_CODES.filter((code) => httpStatusForErrorCode(code) >= 500);
    expect(fiveHundreds.sort()).toEqual(["internal", "unavailable"]);
  });

  it("throws on a code outside the enum (untyped callers)", () => {
    expect(() => httpStatusForErrorCode("teapot" as ErrorCode)).toThrow("Unmapped error code: teapot");
  });
});

describe("typed errors", () => {
  it.each([
    [new NotFoundError("task", "task_1"), "not_found", 404, { resource: "task", id: "task_1" }],
    [new ConflictError("dependency cycle", { cycle: ["a", "b"] }), "conflict", 409, { cycle: ["a", "b"] }],
    [new ForbiddenError(), "forbidden", 403, undefined],
    [new UnauthorizedError(), "unauthorized", 401, undefined],
    [
      new LimitExceededError("prompt", 8192, 9000),
      "payload_too_large",
      413,
      { limit: "prompt", max: 8192, actual: 9000 },
    ],
    [new RateLimitedError(30), "rate_limited", 429, { retry_after_s: 30 }],
    [new UnavailableError(), "unavailable", 503, undefined],
    [new ValidationError("bad", []), "validation_failed", 422, { issues: [] }],
  ] as const)("%s carries code, status and details", (err, code, status, details) => {
    expect(err).toBeInstanceOf(M3shdError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe(code);
    expect(err.status).toBe(status);
    expect(err.details).toEqual(details);
    expect(isM3shdError(err)).toBe(true);
  });

  it("names the refused transition", () => {
    const err = new IllegalTransitionError("done", "running", "task_X");
    expect(err.name).toBe("IllegalTransitionError");
    expect(err.from).toBe("done");
    expect(err.to).toBe("running");
    expect(err.message).toBe("Illegal task transition done → running for task_X");
    expect(err.status).toBe(409);
    expect(toErrorBody(err, "req_1")).toEqual({
      error: {
        code: "illegal_transition",
        message: "Illegal task transition done → running for task_X",
        details: { from: "done", to: "running", task_id: "task_X" },
        request_id: "req_1",
      },
    });
  });

  it("exposes retryAfterSeconds on RateLimitedError", () => {
    expect(new RateLimitedError(12).retryAfterSeconds).toBe(12);
  });

  it("recognises errors from another copy of the package by brand", () => {
    const foreign = Object.assign(new Error("x"), { code: "not_found" });
    Object.defineProperty(foreign, Symbol.for("@m3shd/protocol.error"), { value: true });
    expect(isM3shdError(foreign)).toBe(true);
    expect(isM3shdError(new Error("x"))).toBe(false);
    expect(isM3shdError(null)).toBe(false);
  });
});

describe("toErrorBody", () => {
  it("turns a ZodError into validation_failed with plain issues", () => {
    const result = z.strictObject({ a: z.string() }).safeParse({ a: 1, b: 2 });
    expect(result.success).toBe(false);
    const body = toErrorBody(result.error, "req_2");
    expect(body.error.code).toBe("validation_failed");
    expect(body.error.request_id).toBe("req_2");
    expect(body.error.details).toEqual({
      issues: [
        { path: ["a"], code: "invalid_type", message: "Invalid input: expected string, received number" },
        { path: [], code: "unrecognized_keys", message: 'Unrecognized key: "b"' },
      ],
    });
    expect(ErrorBodySchema.parse(body)).toEqual(body);
  });

  it("builds ValidationError.fromZod with the same issues", () => {
    const result = z.int().safeParse("x");
    if (result.success) throw new Error("expected failure");
    const err = ValidationError.fromZod(result.error);
    expect(err.details).toEqual({
      issues: [
        { path: [], code: "invalid_type", message: "Invalid input: expected number, received string" },
      ],
    });
  });

  it("hides unknown errors behind a generic internal error", () => {
    const body = toErrorBody(new Error("SQLITE_BUSY at /srv/secret/path"), "req_3");
    expect(body).toEqual({ error: { code: "internal", message: "Internal error", request_id: "req_3" } });
    expect(toErrorBody("a string")).toEqual({ error: { code: "internal", message: "Internal error" } });
  });

  it("omits request_id when not given", () => {
    expect(toErrorBody(new NotFoundError("agent", "a-1"))).toEqual({
      error: { code: "not_found", message: "agent a-1 not found", details: { resource: "agent", id: "a-1" } },
    });
  });

  it("produces bodies the schema accepts and rejects unknown codes", () => {
    expect(ErrorBodySchema.safeParse({ error: { code: "teapot", message: "x" } }).success).toBe(false);
    expect(ErrorBodySchema.safeParse({ error: { code: "internal", message: "x" } }).success).toBe(true);
  });
});
