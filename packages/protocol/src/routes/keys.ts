import { z } from "zod";
import { defineRoute } from "../route";
import {
  ApiKeyIdSchema,
  ApiKeyListResponseSchema,
  ApiKeyResponseSchema,
  CreateApiKeyBodySchema,
  CreatedApiKeyResponseSchema,
  ListApiKeysQuerySchema,
  UpdateApiKeyBodySchema,
} from "../security";
import { SMALL_BODY_BYTES } from "./common";

export const ApiKeyPathSchema = z.object({ id: ApiKeyIdSchema });

export const createKeyRoute = defineRoute({
  id: "keys.create",
  method: "POST",
  path: "/api/keys",
  permission: "admin:tokens",
  summary: "Create a third-party API key (shown once)",
  description: "Optional per-minute and per-day caps; a request over a cap answers 429 with `Retry-After`.",
  tags: ["keys"],
  body: CreateApiKeyBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 201: CreatedApiKeyResponseSchema },
});

export const listKeysRoute = defineRoute({
  id: "keys.list",
  method: "GET",
  path: "/api/keys",
  permission: "admin:tokens",
  summary: "List API keys with their usage, newest first",
  tags: ["keys"],
  query: ListApiKeysQuerySchema,
  responses: { 200: ApiKeyListResponseSchema },
});

export const getKeyRoute = defineRoute({
  id: "keys.get",
  method: "GET",
  path: "/api/keys/:id",
  permission: "admin:tokens",
  summary: "Get one API key with the live counters of its rate windows",
  tags: ["keys"],
  params: ApiKeyPathSchema,
  responses: { 200: ApiKeyResponseSchema },
  errors: [404],
});

export const updateKeyRoute = defineRoute({
  id: "keys.update",
  method: "PATCH",
  path: "/api/keys/:id",
  permission: "admin:tokens",
  summary: "Rename an API key, change its permissions or caps",
  tags: ["keys"],
  params: ApiKeyPathSchema,
  body: UpdateApiKeyBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 200: ApiKeyResponseSchema },
  errors: [404],
});

export const revokeKeyRoute = defineRoute({
  id: "keys.revoke",
  method: "DELETE",
  path: "/api/keys/:id",
  permission: "admin:tokens",
  summary: "Revoke an API key",
  description: "Idempotent: revoking a revoked key answers the same row.",
  tags: ["keys"],
  params: ApiKeyPathSchema,
  responses: { 200: ApiKeyResponseSchema },
  errors: [404],
});

/** Third-party API keys (`m3shd_key_…`) with per-key caps. */
export const KEY_ROUTES = [
  createKeyRoute,
  listKeysRoute,
  getKeyRoute,
  updateKeyRoute,
  revokeKeyRoute,
] as const;
