import { isM3shdError, M3shdError, toErrorBody } from "@m3shd/protocol";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "pino";

/**
 * The one place errors become HTTP: typed errors through the protocol's code → status switch, Hono's
 * own exceptions with our envelope, anything else a 500 with the request id (logged with its stack,
 * never shown to the client).
 */
export function errorResponse(err: unknown, c: Context, logger: Logger): Response {
  const requestId = c.get("requestId") as string | undefined;
  const error = err instanceof HTTPException ? fromHttpException(err) : err;
  const body = toErrorBody(error, requestId);
  const status = isM3shdError(error) ? error.status : 500;
  if (status >= 500)
    logger.error({ err, requestId, path: c.req.path, method: c.req.method }, "request failed");
  return c.json(body, status as ContentfulStatusCode);
}

function fromHttpException(err: HTTPException): M3shdError {
  switch (err.status) {
    case 401:
      return new M3shdError("unauthorized", "Unauthorized");
    case 403:
      return new M3shdError("forbidden", "Forbidden");
    case 404:
      return new M3shdError("not_found", "Not found");
    case 413:
      return new M3shdError("payload_too_large", "Request body too large");
    case 415:
      return new M3shdError("unsupported_media_type", "Unsupported media type");
    default:
      return new M3shdError(err.status >= 500 ? "internal" : "bad_request", err.message || "Bad request");
  }
}
