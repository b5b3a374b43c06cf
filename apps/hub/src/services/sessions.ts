import { randomBytes } from "node:crypto";
import { constantTimeEqual, hashToken } from "@m3shd/crypto";
import {
  findLiveSession,
  insertSession,
  purgeSessions,
  revokeSession,
  revokeSessions,
  type SessionRow,
  touchSession,
  type UserRow,
} from "@m3shd/db";
import { RateLimitedError, UnauthorizedError } from "@m3shd/protocol";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { type AuthConfig, DEFAULT_AUTH_CONFIG, type HubContext } from "../context";
import { noteAudit } from "../middleware/audit";
import type { Authenticator, Principal } from "../middleware/auth";
import { clientIp } from "../middleware/client-ip";
import { audit, audited } from "./audit";
import { type HubLimits, secondsUntil } from "./limits";
import { USER_ROLE_PERMISSIONS } from "./permissions";
import { makeUsageThrottle } from "./tokens";
import { verifyCredentials } from "./users";

/**
 * Dashboard sessions. The cookie holds 256 random bits; the database keeps only their SHA-256, so
 * a leaked table cannot be replayed as cookies. Each session also has a CSRF token (stored hashed)
 * that cookie-authenticated writes must echo in `X-CSRF-Token`.
 *
 * Cookies: HttpOnly (scripts cannot read the session), SameSite=Strict (no cross-site sends),
 * Path=/, Max-Age = the session TTL; behind TLS also Secure with the `__Host-` prefix, which
 * forbids a sibling subdomain from planting its own session cookie. The CSRF cookie is the same
 * minus HttpOnly, so the dashboard's script can read it after a reload.
 */

const SESSION_COOKIE = "m3shd_session";
const CSRF_COOKIE = "m3shd_csrf";
/** 32 random bytes in base64url. */
const SESSION_ID_RE = /^[A-Za-z0-9_-]{43}$/;

/** The effective auth settings of a hub. */
export function authConfig(ctx: HubContext): AuthConfig {
  return { ...DEFAULT_AUTH_CONFIG, ...ctx.config.auth };
}

function cookiePrefix(ctx: HubContext): "host" | undefined {
  return ctx.config.behindTls ? "host" : undefined;
}

function readSessionId(ctx: HubContext, c: Context): string | null {
  const prefix = cookiePrefix(ctx);
  const value = prefix ? getCookie(c, SESSION_COOKIE, prefix) : getCookie(c, SESSION_COOKIE);
  return value && SESSION_ID_RE.test(value) ? value : null;
}

/** The live session the request's cookie names, with its user; null when absent, expired or revoked. */
export function sessionFromRequest(
  ctx: HubContext,
  c: Context,
): { session: SessionRow; user: UserRow; principal: Principal } | null {
  const id = readSessionId(ctx, c);
  if (!id) return null;
  const idHash = hashToken(id);
  const found = findLiveSession(ctx.database.db, { idHash, now: ctx.now() });
  if (!found || !constantTimeEqual(found.session.idHash, idHash)) return null;
  return {
    ...found,
    principal: {
      kind: "session",
      subject: `user:${found.user.id}`,
      permissions: new Set(USER_ROLE_PERMISSIONS[found.user.role]),
      agentId: null,
      credentialId: idHash,
      csrfTokenHash: found.session.csrfTokenHash,
    },
  };
}

/**
 * Authenticates by session cookie, and only when the request has no bearer token. Nothing is
 * cached: logout, a password change or disabling the user ends the session on its next request.
 */
export function sessionAuthenticator(ctx: HubContext): Authenticator {
  const shouldTouch = makeUsageThrottle();
  return (token, c) => {
    if (token !== null) return null;
    const found = sessionFromRequest(ctx, c);
    if (!found) return null;
    const now = ctx.now();
    if (shouldTouch(found.session.idHash, now)) {
      touchSession(ctx.database.db, { idHash: found.session.idHash, now });
    }
    return found.principal;
  };
}

/**
 * Starts a session for `user` and sets its cookies; returns the CSRF token for the response body.
 * `login`: the session is a login (audited as `session.login` in the session's transaction); a
 * fresh session after a password change is part of that action instead.
 */
export function startSession(
  ctx: HubContext,
  c: Context,
  user: UserRow,
  options: { login?: boolean } = {},
): { csrfToken: string; expiresAt: number } {
  const config = authConfig(ctx);
  const now = ctx.now();
  const id = randomBytes(32).toString("base64url");
  const csrfToken = randomBytes(32).toString("base64url");
  const expiresAt = now + config.sessionTtlMs;
  ctx.database.db.transaction(
    (tx) => {
      // Housekeeping on the (rare) login path: sessions dead for a full TTL are of no further use.
      purgeSessions(tx, now - config.sessionTtlMs);
      insertSession(tx, {
        idHash: hashToken(id),
        userId: user.id,
        csrfTokenHash: hashToken(csrfToken),
        expiresAt,
        ip: clientIp(c, ctx.config.trustProxy),
        userAgent: c.req.header("user-agent")?.slice(0, 256) ?? null,
        now,
      });
      if (options.login) audit(tx, ctx, "session.login", user.id, `user:${user.id}`);
    },
    { behavior: "immediate" },
  );
  const common = {
    path: "/",
    sameSite: "Strict" as const,
    secure: ctx.config.behindTls,
    maxAge: Math.floor(config.sessionTtlMs / 1000),
    ...(cookiePrefix(ctx) ? { prefix: "host" as const } : {}),
  };
  setCookie(c, SESSION_COOKIE, id, { ...common, httpOnly: true });
  setCookie(c, CSRF_COOKIE, csrfToken, common);
  return { csrfToken, expiresAt };
}

/** Ends the request's session (if any) and clears both cookies. */
export function endSession(ctx: HubContext, c: Context, session: SessionRow | null): void {
  if (session) {
    audited(
      ctx,
      "session.logout",
      (tx) => revokeSession(tx, { idHash: session.idHash, now: ctx.now() }),
      (revoked) => (revoked ? session.userId : undefined),
    );
  }
  const opts = {
    path: "/",
    secure: ctx.config.behindTls,
    ...(cookiePrefix(ctx) ? { prefix: "host" as const } : {}),
  };
  deleteCookie(c, SESSION_COOKIE, opts);
  deleteCookie(c, CSRF_COOKIE, opts);
}

/** Ends every session (rotation of all dashboard logins at once); how many were live. */
export function endAllSessions(ctx: HubContext): number {
  return audited(
    ctx,
    "session.revoke_all",
    (tx) => revokeSessions(tx, { now: ctx.now() }),
    () => null,
  );
}

/**
 * Login with per-IP throttling: at most `loginMaxFailures` failed attempts per client IP per
 * window; any attempt beyond that is a 429 with `Retry-After` until the window ends, before the
 * password is even checked (so a throttled attacker also stops costing PBKDF2 work).
 *
 * The attempt is counted *before* the password check, atomically in the shared counter, so
 * concurrent attempts cannot slip past the limit between a check and an increment; a successful
 * login then takes its count back.
 */
export async function login(
  ctx: HubContext,
  limits: HubLimits,
  c: Context,
  username: string,
  password: string,
): Promise<{ user: UserRow; csrfToken: string; expiresAt: number }> {
  const config = authConfig(ctx);
  // A refusal (bad credentials, throttled) is on record as a failed login for this username.
  noteAudit(c, { refusal: "auth.login_failed", target: username });
  const ip = clientIp(c, ctx.config.trustProxy) ?? "unknown";
  const now = ctx.now();
  const attempts = await limits.loginFailures.hit(ip, now);
  if (attempts > config.loginMaxFailures) {
    throw new RateLimitedError(
      secondsUntil(limits.loginFailures.windowEnd(now), now),
      "Too many failed logins from this address; try again later",
    );
  }
  const user = await verifyCredentials(ctx, username, password);
  if (!user) throw new UnauthorizedError("Invalid username or password");
  await limits.loginFailures.unhit(ip, now);
  return { user, ...startSession(ctx, c, user, { login: true }) };
}
