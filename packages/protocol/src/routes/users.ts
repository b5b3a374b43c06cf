import { z } from "zod";
import { defineRoute } from "../route";
import {
  CreateUserBodySchema,
  RevokedSessionsResponseSchema,
  UpdateUserBodySchema,
  UserIdSchema,
  UserListResponseSchema,
  UserResponseSchema,
} from "../security";
import { SMALL_BODY_BYTES } from "./common";

export const UserPathSchema = z.object({ id: UserIdSchema });

export const createUserRoute = defineRoute({
  id: "users.create",
  method: "POST",
  path: "/api/users",
  permission: "admin:users",
  summary: "Create a dashboard user",
  tags: ["users"],
  body: CreateUserBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 201: UserResponseSchema },
  errors: [409],
});

export const listUsersRoute = defineRoute({
  id: "users.list",
  method: "GET",
  path: "/api/users",
  permission: "admin:users",
  summary: "List dashboard users",
  tags: ["users"],
  responses: { 200: UserListResponseSchema },
});

export const getUserRoute = defineRoute({
  id: "users.get",
  method: "GET",
  path: "/api/users/:id",
  permission: "admin:users",
  summary: "Get one dashboard user",
  tags: ["users"],
  params: UserPathSchema,
  responses: { 200: UserResponseSchema },
  errors: [404],
});

export const updateUserRoute = defineRoute({
  id: "users.update",
  method: "PATCH",
  path: "/api/users/:id",
  permission: "admin:users",
  summary: "Change a user's role or password, or disable them",
  description:
    "A new password or disabling ends every session of the user. A user cannot disable or demote their own account (403).",
  tags: ["users"],
  params: UserPathSchema,
  body: UpdateUserBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 200: UserResponseSchema },
  errors: [404],
});

export const deleteUserRoute = defineRoute({
  id: "users.delete",
  method: "DELETE",
  path: "/api/users/:id",
  permission: "admin:users",
  summary: "Delete a dashboard user (and end their sessions)",
  description: "A user cannot delete their own account (403).",
  tags: ["users"],
  params: UserPathSchema,
  responses: { 204: null },
  errors: [404],
});

export const revokeAllSessionsRoute = defineRoute({
  id: "sessions.revokeAll",
  method: "DELETE",
  path: "/api/sessions",
  permission: "admin:users",
  summary: "End every dashboard session at once",
  description: "The kill switch after a suspected cookie leak.",
  tags: ["users"],
  responses: { 200: RevokedSessionsResponseSchema },
});

/** Dashboard users and the all-sessions kill switch. */
export const USER_ROUTES = [
  createUserRoute,
  listUsersRoute,
  getUserRoute,
  updateUserRoute,
  deleteUserRoute,
  revokeAllSessionsRoute,
] as const;
