import { z } from "zod";
import { defineRoute } from "../route";
import {
  CONTEXT_VALUE_MAX_BYTES,
  ContextEntrySchema,
  ContextKeySchema,
  ContextListResponseSchema,
  ListContextQuerySchema,
  PutContextBodySchema,
} from "../shared-context";
import { DeletedResponseSchema } from "./common";

export const ContextKeyPathSchema = z.object({ key: ContextKeySchema });

export const ContextEntryResponseSchema = z.object({ entry: ContextEntrySchema });
export type ContextEntryResponse = z.infer<typeof ContextEntryResponseSchema>;

const NOTE =
  "Shared context is working memory the whole mesh shares: the memory permissions, which agents hold.";

export const listContextRoute = defineRoute({
  id: "context.list",
  method: "GET",
  path: "/api/context",
  permission: "memory:read",
  summary: "List shared-context entries in key order",
  description: NOTE,
  tags: ["context"],
  query: ListContextQuerySchema,
  responses: { 200: ContextListResponseSchema },
});

export const getContextRoute = defineRoute({
  id: "context.get",
  method: "GET",
  path: "/api/context/:key",
  permission: "memory:read",
  summary: "Get one shared-context entry",
  tags: ["context"],
  params: ContextKeyPathSchema,
  responses: { 200: ContextEntryResponseSchema },
  errors: [404],
});

export const putContextRoute = defineRoute({
  id: "context.put",
  method: "PUT",
  path: "/api/context/:key",
  permission: "memory:write",
  summary: "Set a shared-context entry (any JSON value)",
  description: "`set_by` is the caller (the acting agent, else the principal), never a body field.",
  tags: ["context"],
  params: ContextKeyPathSchema,
  body: PutContextBodySchema,
  bodyLimitBytes: 4 * CONTEXT_VALUE_MAX_BYTES + 4 * 1024,
  responses: { 200: ContextEntryResponseSchema },
});

export const deleteContextRoute = defineRoute({
  id: "context.delete",
  method: "DELETE",
  path: "/api/context/:key",
  permission: "memory:write",
  summary: "Delete a shared-context entry",
  tags: ["context"],
  params: ContextKeyPathSchema,
  responses: { 200: DeletedResponseSchema },
  errors: [404],
});

/** Shared context: mesh-wide key/value. */
export const CONTEXT_ROUTES = [
  listContextRoute,
  getContextRoute,
  putContextRoute,
  deleteContextRoute,
] as const;
