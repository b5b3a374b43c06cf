import { sha256Hex } from "@m3shd/crypto";
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { HubContext } from "../context";
import { recordAudit } from "../services/audit";
import type { HubEnv } from "../types";
import type { Principal } from "./auth";
import { clientIp } from "./client-ip";

/** Methods that change state; every request with one of them is audited, refused ones included. */
const MUTATING: ReadonlySet<string> = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const MAX_FIELD = 256;

const notes = new WeakMap<Context, { target?: string; actor?: string }>();

/**
 * Lets a handler say what its request acted on (`target`, default: the route's first path
 * parameter) or who made it (`actor`), for requests that authenticate themselves (a login) or are
 * refused after the credential is known (an API key over its cap).
 */
export function noteAudit(c: Context, note: { target?: string; actor?: string }): void {
  notes.set(c, { ...notes.get(c), ...note });
}

/**
 * Writes one `audit_log` row per mutating request, after the response is decided: who (the
 * authenticated subject, else `anonymous`), what (`<METHOD> <route> <status>`, so refused attempts
 * are on record too), on what (the route's first path parameter or the handler's note), when (hub
 * clock), from where (client IP) and a SHA-256 of the body as received. The body itself is never
 * stored — it may hold secrets such as passwords — and it is never read here: the digest comes from
 * what the route's own size-checked parser already read, so an oversized body is never buffered.
 */
export function auditRequests(ctx: HubContext): MiddlewareHandler<HubEnv> {
  return async (c, next) => {
    if (!MUTATING.has(c.req.method)) return next();
    await next();
    try {
      const note = notes.get(c);
      const route = matchedRoutes(c).findLast((r) => r.method !== "ALL");
      const principal = c.get("principal") as Principal | undefined;
      // Default target: the route's first path parameter (`:id`, `:key`…); the raw path when no route matched.
      const params: Record<string, string | undefined> = route ? c.req.param() : {};
      const target = note?.target ?? (route ? Object.values(params)[0] : c.req.path) ?? null;
      recordAudit(ctx, {
        actor: note?.actor ?? principal?.subject ?? "anonymous",
        action: `${c.req.method} ${route?.path ?? "(no route)"} ${c.res.status}`,
        target: target === null ? null : target.slice(0, MAX_FIELD),
        ip: clientIp(c, ctx.config.trustProxy),
        payloadSha256: await payloadDigest(c),
      });
    } catch (err) {
      // The response is already decided; a failed audit write is loud in the logs but does not
      // turn a completed write into an error the client would retry.
      ctx.logger.error({ err, requestId: c.get("requestId") }, "audit log write failed");
    }
  };
}

async function payloadDigest(c: Context): Promise<string | null> {
  const cache = c.req.bodyCache as { text?: Promise<string>; arrayBuffer?: Promise<ArrayBuffer> };
  try {
    if (cache.arrayBuffer) return sha256Hex(new Uint8Array(await cache.arrayBuffer));
    if (cache.text) return sha256Hex(await cache.text);
  } catch {
    return null;
  }
  // Judged from the headers: touching `c.req.raw.body` would make the node adapter start
  // streaming a body nobody reads, which stalls the connection for the client's next request.
  const length = c.req.header("content-length");
  const hasBody = c.req.header("transfer-encoding") !== undefined || (length !== undefined && length !== "0");
  return hasBody ? null : sha256Hex("");
}
