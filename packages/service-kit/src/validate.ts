import { LimitExceededError, M3shdError, ValidationError } from "@m3shd/protocol";
import type { Env, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { validator } from "hono/validator";
import type { z } from "zod";

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/**
 * JSON body validation. The raw size is checked before anything is parsed (`limitBytes`, 413); a
 * body that is not declared JSON is a 415, unparsable JSON a 400, a schema failure a 422 naming
 * every issue. Handlers read `c.req.valid("json")` only. An empty body parses as `{}`.
 */
export function jsonBody<S extends z.ZodType>(schema: S, limitBytes: number) {
  const limit: MiddlewareHandler = bodyLimit({
    maxSize: limitBytes,
    onError: (c) => {
      // The rest of the oversized body is never read: close the connection after the 413, or a
      // keep-alive client's next request on it would be read as the tail of this body.
      c.header("Connection", "close");
      throw new LimitExceededError("request body", limitBytes);
    },
  });
  const parse: MiddlewareHandler<
    Env,
    string,
    { in: { json: z.input<S> }; out: { json: z.output<S> } }
  > = async (c, next) => {
    const text = await c.req.text();
    let raw: unknown = {};
    if (text.length > 0) {
      const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
      if (!JSON_MEDIA_TYPE.test(mediaType)) {
        throw new M3shdError("unsupported_media_type", "Request body must be application/json");
      }
      try {
        raw = JSON.parse(text);
      } catch {
        throw new M3shdError("bad_request", "Request body is not valid JSON");
      }
    }
    const result = schema.safeParse(raw);
    if (!result.success) throw ValidationError.fromZod(result.error, "Request body failed validation");
    c.req.addValidatedData("json", result.data as object);
    await next();
  };
  return [limit, parse] as const;
}

/** Query-string validation (422 on failure). */
export function queryParams<S extends z.ZodType>(schema: S) {
  return validator("query", (value) => {
    const result = schema.safeParse(value);
    if (!result.success) throw ValidationError.fromZod(result.error, "Query string failed validation");
    return result.data as z.output<S>;
  });
}

/** Path-parameter validation (422 on failure, e.g. an agent id outside `^[a-z0-9-]{1,64}$`). */
export function pathParams<S extends z.ZodType>(schema: S) {
  return validator("param", (value) => {
    const result = schema.safeParse(value);
    if (!result.success) throw ValidationError.fromZod(result.error, "Path parameter failed validation");
    return result.data as z.output<S>;
  });
}
