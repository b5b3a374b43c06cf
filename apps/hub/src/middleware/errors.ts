import { isM3shdError, M3shdError, toErrorBody } from "@m3shd/protocol";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "pino";

/**
 * The one place errors become HTTP. Typed errors map through the protocol's code → status switch;
 * Hono's own HTTP exceptions (malformed JSON, body too large) keep their status with our envelope;
 * anything else is a 500 with the request id — logged with its stack, never shown to the client.
 */
export function errorResponse(err: unknown, c: Context, logger: Logger): Response {
  const requestId = c.get("requestId") as string | undefined;
  let error: unknown = err;
  if (err instanceof HTTPException) {
    error = httpExceptionToError(err);
  }
  const body = toErrorBody(error, requestId);
  const status = isM3shdError(error) ? error.status : 500;
  if (status >= 500) {
    logger.error({ err, requestId, path: c.req.path, method: c.req.method }, "request failed");
  }
  const headers: Record<string, string> = {};
  if (isM3shdError(error) && error.code === "rate_limited") {
    const retry = (error.details as { retry_after_s?: number } | undefined)?.retry_after_s;
    if (retry !== undefined) headers["Retry-After"] = String(Math.max(1, Math.ceil(retry)));
  }
  return c.json(body, status as ContentfulStatusCode, headers);
}

function httpExceptionToError(err: HTTPException): M3shdError {
  switch (err.status) {
    case 400:
      return new M3shdError("bad_request", err.message || "Bad request");
    case 401:
      return new M3shdError("unauthorized", err.message || "Unauthorized");
    case 403:
      return new M3shdError("forbidden", err.message || "Forbidden");
    case 404:
      return new M3shdError("not_found", err.message || "Not found");
    case 413:
      return new M3shdError("payload_too_large", err.message || "Request body too large");
    case 415:
      return new M3shdError("unsupported_media_type", err.message || "Unsupported media type");
    default:
      return new M3shdError(err.status >= 500 ? "internal" : "bad_request", err.message || "Request failed");
  }
}
