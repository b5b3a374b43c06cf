import { sha256Hex } from "@m3shd/crypto";
import { insertAuditEntry, setAuditPayloadDigest } from "@m3shd/db";
import { newId } from "@m3shd/protocol";
import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { HubContext } from "../context";
import { type AuditAction, type AuditScope, runInAuditScope } from "../services/audit";
import type { HubEnv } from "../types";
import type { Principal } from "./auth";
import { clientIp } from "./client-ip";

/** Methods that change state: a refusal of one of them is audited. */
const MUTATING: ReadonlySet<string> = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** Refusals recorded as `auth.refused`: no or a bad credential, a missing permission, a cap. */
const REFUSED: ReadonlySet<number> = new Set([401, 403, 429]);
const MAX_FIELD = 256;

interface AuditNote {
  target?: string;
  actor?: string;
  /** The action a refusal of this request is recorded as (default `auth.refused`). */
  refusal?: AuditAction;
}

const notes = new WeakMap<Context, AuditNote>();

/**
 * Lets a handler or service say who made a request (`actor`) for requests that authenticate
 * themselves (a login) or are refused after the credential is known (an API key over its cap),
 * and what a refusal is recorded as and against (`refusal`, `target`).
 */
export function noteAudit(c: Context, note: AuditNote): void {
  notes.set(c, { ...notes.get(c), ...note });
}

/**
 * The audit scope of each request. Services write the rows of the domain actions they perform,
 * inside their transactions (`audit()` in services/audit.ts), reading the actor (the
 * authenticated subject) and client IP from this scope. After the response is decided this
 * middleware:
 *
 * - adds the SHA-256 of the body as received to those rows. The body itself is never stored — it
 *   may hold secrets such as passwords — and never read here: the digest comes from what the
 *   route's own size-checked parser already read, so an oversized body is never buffered;
 * - records a refused write (401, 403, 429) that performed no action as `auth.refused` (or the
 *   noted refusal, e.g. `auth.login_failed`), so attempts are on record too. Reads, heartbeats
 *   and chunks write nothing.
 */
export function auditRequests(ctx: HubContext): MiddlewareHandler<HubEnv> {
  return async (c, next) => {
    const scope: AuditScope = {
      actor: () =>
        notes.get(c)?.actor ?? (c.get("principal") as Principal | undefined)?.subject ?? "anonymous",
      ip: clientIp(c, ctx.config.trustProxy),
      written: [],
    };
    await runInAuditScope(scope, next);
    try {
      // Rows of a request that failed were rolled back with its transaction: nothing to complete.
      if (scope.written.length > 0 && c.res.status < 400) {
        const digest = await payloadDigest(c);
        if (digest) setAuditPayloadDigest(ctx.database.db, { ids: scope.written, payloadSha256: digest });
        return;
      }
      if (!MUTATING.has(c.req.method) || !REFUSED.has(c.res.status)) return;
      const note = notes.get(c);
      const route = matchedRoutes(c).findLast((r) => r.method !== "ALL");
      const what = `${c.req.method} ${route?.path ?? c.req.path} ${c.res.status}`;
      insertAuditEntry(ctx.database.db, {
        id: newId("aud"),
        ts: ctx.now(),
        actor: scope.actor(),
        action: note?.refusal ?? "auth.refused",
        target: (note?.target ?? what).slice(0, MAX_FIELD),
        ip: scope.ip,
        payloadSha256: await payloadDigest(c),
      });
    } catch (err) {
      // The response is already decided; a failed audit write is loud in the logs but does not
      // turn a completed request into an error the client would retry.
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
