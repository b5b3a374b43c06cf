import { LimitExceededError, M3shdError, ValidationError } from "@m3shd/protocol";
import type { Env, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { validator } from "hono/validator";
import type { z } from "zod";

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

/** Deepest JSON nesting (objects and arrays) any body may have. Real payloads stay under 10. */
export const MAX_JSON_DEPTH = 64;

/**
 * The nesting depth of a JSON text, scanning brackets outside strings; stops counting past
 * `stopAfter`. Linear, allocation-free, never recursive. Malformed text gets some number and is
 * then refused by `JSON.parse`.
 */
export function jsonNestingDepth(text: string, stopAfter = Number.POSITIVE_INFINITY): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
      continue;
    }
    if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > stopAfter) return max;
      }
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return max;
}

/**
 * JSON body validation. The raw size is checked before anything is parsed (`limitBytes`, 413); a
 * body that is not declared JSON is a 415, unparsable JSON a 400, a schema failure a 422 naming
 * every issue. Handlers read `c.req.valid("json")` only. An empty body parses as `{}`.
 */
export function jsonBody<S extends z.ZodType>(schema: S, limitBytes: number) {
  const countBytes: MiddlewareHandler = bodyLimit({
    maxSize: limitBytes,
    onError: (c) => {
      // The rest of the oversized body is never read: close the connection after the 413, or a
      // keep-alive client's next request on it would be read as the tail of this body.
      c.header("Connection", "close");
      throw new LimitExceededError("request body", limitBytes);
    },
  });
  // Without a Content-Length the limiter reads the stream itself; a stream that breaks there
  // (malformed chunked encoding, a client gone mid-body) is the client's fault: 400, never a 500.
  // Errors from further down the chain (after `next`) pass through untouched.
  const limit: MiddlewareHandler = async (c, next) => {
    let passed = false;
    try {
      await countBytes(c, async () => {
        passed = true;
        await next();
      });
    } catch (err) {
      if (passed || err instanceof M3shdError) throw err;
      c.header("Connection", "close");
      throw new M3shdError("bad_request", "Request body could not be read (malformed or interrupted)");
    }
  };
  const parse: MiddlewareHandler<
    Env,
    string,
    { in: { json: z.input<S> }; out: { json: z.output<S> } }
  > = async (c, next) => {
    let text: string;
    try {
      text = await c.req.text();
    } catch {
      // The body stream broke (malformed chunked encoding, a client that hung up mid-body): the
      // client's fault, not ours — never a 500 with a stack in the audit log.
      c.header("Connection", "close");
      throw new M3shdError("bad_request", "Request body could not be read (malformed or interrupted)");
    }
    let raw: unknown = {};
    if (text.length > 0) {
      const mediaType = (c.req.header("content-type") ?? "").split(";")[0]?.trim() ?? "";
      if (!JSON_MEDIA_TYPE.test(mediaType)) {
        throw new M3shdError("unsupported_media_type", "Request body must be application/json");
      }
      // Before parsing: a body nested thousands deep parses fine but overflows the stack of the
      // recursive code that meets it later (schemas, serializers), which used to be a 500.
      const depth = jsonNestingDepth(text, MAX_JSON_DEPTH);
      if (depth > MAX_JSON_DEPTH) throw new LimitExceededError("JSON nesting depth", MAX_JSON_DEPTH);
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
