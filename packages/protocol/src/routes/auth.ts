import { defineRoute } from "../route";
import {
  ChangePasswordBodySchema,
  LoginBodySchema,
  LoginResponseSchema,
  PasswordChangedResponseSchema,
} from "../security";

/** Login and password bodies are a username and passwords: small. */
export const AUTH_BODY_BYTES = 8 * 1024;

export const loginRoute = defineRoute({
  id: "auth.login",
  method: "POST",
  path: "/api/auth/login",
  permission: "public",
  summary: "Log in to the dashboard (sets the session and CSRF cookies)",
  description:
    "Public: it carries its own credentials. Failed attempts are throttled per client address (429 with " +
    "`Retry-After`). Send the returned `csrf_token` as `X-CSRF-Token` on every write made with the cookie.",
  tags: ["auth"],
  body: LoginBodySchema,
  bodyLimitBytes: AUTH_BODY_BYTES,
  responses: { 200: LoginResponseSchema },
  errors: [401, 429],
});

export const logoutRoute = defineRoute({
  id: "auth.logout",
  method: "POST",
  path: "/api/auth/logout",
  permission: "public",
  summary: "End the cookie's session and clear the cookies",
  description: "Idempotent. With a session cookie the CSRF token is required (403 without it).",
  tags: ["auth"],
  responses: { 204: null },
  errors: [403],
});

export const changePasswordRoute = defineRoute({
  id: "auth.password",
  method: "POST",
  path: "/api/auth/password",
  permission: "public",
  summary: "Change the logged-in user's own password",
  description:
    "Needs the session cookie, its CSRF token and the current password (403 when wrong; wrong attempts count " +
    "against the login throttle). Every session of the user ends; a fresh one is started for this browser.",
  tags: ["auth"],
  body: ChangePasswordBodySchema,
  bodyLimitBytes: AUTH_BODY_BYTES,
  responses: { 200: PasswordChangedResponseSchema },
  errors: [401, 403, 429],
});

/** Dashboard sessions: public routes that check their own credentials. */
export const AUTH_ROUTES = [loginRoute, logoutRoute, changePasswordRoute] as const;
