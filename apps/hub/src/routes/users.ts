import {
  createUserRoute,
  deleteUserRoute,
  getUserRoute,
  listUsersRoute,
  revokeAllSessionsRoute,
  updateUserRoute,
} from "@m3shd/protocol";
import { principalOf } from "../middleware/auth";
import { endAllSessions } from "../services/sessions";
import { createUser, deleteUser, getUser, listUsers, updateUser } from "../services/users";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** Dashboard users (admin/user/viewer) and the all-sessions kill switch (`admin:users`). */
export function registerUserRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, createUserRoute, authenticate, async (_c, { body }) => ({
    status: 201,
    body: { user: await createUser(ctx, body) },
  }));

  handle(app, listUsersRoute, authenticate, () => ({ status: 200, body: { users: listUsers(ctx) } }));

  handle(app, getUserRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: { user: getUser(ctx, params.id) },
  }));

  handle(app, updateUserRoute, authenticate, async (c, { params, body }) => ({
    status: 200,
    body: { user: await updateUser(ctx, principalOf(c), params.id, body) },
  }));

  handle(app, deleteUserRoute, authenticate, (c, { params }) => {
    deleteUser(ctx, principalOf(c), params.id);
    return { status: 204 };
  });

  /** Ends every dashboard session at once (e.g. after a suspected cookie leak). */
  handle(app, revokeAllSessionsRoute, authenticate, () => ({
    status: 200,
    body: { revoked: endAllSessions(ctx) },
  }));
}
