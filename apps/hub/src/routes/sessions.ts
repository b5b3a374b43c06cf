import {
  changePasswordRoute,
  ForbiddenError,
  loginRoute,
  logoutRoute,
  RateLimitedError,
  UnauthorizedError,
} from "@m3shd/protocol";
import { noteAudit } from "../middleware/audit";
import { requireCsrfToken } from "../middleware/auth";
import { clientIp } from "../middleware/client-ip";
import { type HubLimits, secondsUntil } from "../services/limits";
import { authConfig, endSession, login, sessionFromRequest, startSession } from "../services/sessions";
import { changeOwnPassword, toApiUser } from "../services/users";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/**
 * Dashboard login, logout and password change. These are `public` in the route table because
 * they carry their own credentials — a password, or the session cookie plus its CSRF token —
 * instead of a bearer token; each handler checks them itself.
 */
export function registerSessionRoutes(app: HubApp, { ctx, authenticate }: RouteDeps, limits: HubLimits) {
  handle(app, loginRoute, authenticate, async (c, { body }) => {
    const { username, password } = body;
    noteAudit(c, { target: username });
    const session = await login(ctx, limits, c, username, password);
    noteAudit(c, { actor: `user:${session.user.id}` });
    return {
      status: 200,
      body: { user: toApiUser(session.user), csrf_token: session.csrfToken, expires_at: session.expiresAt },
    };
  });

  /** Ends the cookie's session (CSRF-checked when there is one) and clears the cookies. Idempotent. */
  handle(app, logoutRoute, authenticate, (c) => {
    const found = sessionFromRequest(ctx, c);
    if (found) {
      requireCsrfToken(c, found.principal);
      noteAudit(c, { actor: found.principal.subject });
    }
    endSession(ctx, c, found?.session ?? null);
    return { status: 204 };
  });

  /**
   * Changes the logged-in user's own password (session cookie + CSRF token + current password).
   * Wrong current passwords count against the login throttle. Every session of the user ends; a
   * fresh one is started for this browser.
   */
  handle(app, changePasswordRoute, authenticate, async (c, { body }) => {
    const found = sessionFromRequest(ctx, c);
    if (!found) throw new UnauthorizedError("Log in first");
    requireCsrfToken(c, found.principal);
    noteAudit(c, { actor: found.principal.subject, target: found.user.id });
    const ip = clientIp(c, ctx.config.trustProxy) ?? "unknown";
    const now = ctx.now();
    if ((await limits.loginFailures.hit(ip, now)) > authConfig(ctx).loginMaxFailures) {
      throw new RateLimitedError(secondsUntil(limits.loginFailures.windowEnd(now), now));
    }
    if (!(await changeOwnPassword(ctx, found.user, body.current_password, body.new_password))) {
      throw new ForbiddenError("Current password is incorrect");
    }
    await limits.loginFailures.unhit(ip, now);
    const session = startSession(ctx, c, found.user);
    return { status: 200, body: { csrf_token: session.csrfToken, expires_at: session.expiresAt } };
  });
}
