import { jsonBody, pathParams } from "@m3shd/service-kit";
import { z } from "zod";
import { authorize, principalOf } from "../middleware/auth";
import { CreateUserBodySchema, UpdateUserBodySchema, UserIdSchema } from "../schemas/security";
import { endAllSessions } from "../services/sessions";
import { createUser, deleteUser, getUser, listUsers, updateUser } from "../services/users";
import type { HubApp, RouteDeps } from "../types";

const SMALL_BODY = 16 * 1024;
const UserPath = z.object({ id: UserIdSchema });

/** Dashboard users (admin/user/viewer) and the all-sessions kill switch (`admin:users`). */
export function registerUserRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.post(
    "/api/users",
    authorize("admin:users", authenticate),
    ...jsonBody(CreateUserBodySchema, SMALL_BODY),
    async (c) => c.json({ user: await createUser(ctx, c.req.valid("json")) }, 201),
  );

  app.get("/api/users", authorize("admin:users", authenticate), (c) => c.json({ users: listUsers(ctx) }));

  app.get("/api/users/:id", authorize("admin:users", authenticate), pathParams(UserPath), (c) =>
    c.json({ user: getUser(ctx, c.req.valid("param").id) }),
  );

  app.patch(
    "/api/users/:id",
    authorize("admin:users", authenticate),
    pathParams(UserPath),
    ...jsonBody(UpdateUserBodySchema, SMALL_BODY),
    async (c) =>
      c.json({ user: await updateUser(ctx, principalOf(c), c.req.valid("param").id, c.req.valid("json")) }),
  );

  app.delete("/api/users/:id", authorize("admin:users", authenticate), pathParams(UserPath), (c) => {
    deleteUser(ctx, principalOf(c), c.req.valid("param").id);
    return c.body(null, 204);
  });

  /** Ends every dashboard session at once (e.g. after a suspected cookie leak). */
  app.delete("/api/sessions", authorize("admin:users", authenticate), (c) =>
    c.json({ revoked: endAllSessions(ctx) }),
  );
}
