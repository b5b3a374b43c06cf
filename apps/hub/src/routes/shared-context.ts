import {
  CONTEXT_VALUE_MAX_BYTES,
  ContextKeySchema,
  ListContextQuerySchema,
  PutContextBodySchema,
} from "@m3shd/protocol";
import { jsonBody, pathParams, queryParams } from "@m3shd/service-kit";
import { z } from "zod";
import { authorize } from "../middleware/auth";
import { deleteContext, getContext, listContext, putContext } from "../services/shared-context";
import type { HubApp, RouteDeps } from "../types";
import { callerId } from "./caller";

const KeyPath = z.object({ key: ContextKeySchema });

/**
 * Shared context, mesh-wide key/value. It is working memory the whole mesh shares, so it uses the
 * memory permissions (which the worker preset holds: agents read and write it).
 */
export function registerSharedContextRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.get("/api/context", authorize("memory:read", authenticate), queryParams(ListContextQuerySchema), (c) =>
    c.json(listContext(ctx, c.req.valid("query"))),
  );

  app.get("/api/context/:key", authorize("memory:read", authenticate), pathParams(KeyPath), (c) =>
    c.json({ entry: getContext(ctx, c.req.valid("param").key) }),
  );

  app.put(
    "/api/context/:key",
    authorize("memory:write", authenticate),
    pathParams(KeyPath),
    ...jsonBody(PutContextBodySchema, 4 * CONTEXT_VALUE_MAX_BYTES + 4 * 1024),
    (c) =>
      c.json({ entry: putContext(ctx, c.req.valid("param").key, c.req.valid("json").value, callerId(c)) }),
  );

  app.delete("/api/context/:key", authorize("memory:write", authenticate), pathParams(KeyPath), (c) => {
    deleteContext(ctx, c.req.valid("param").key);
    return c.json({ deleted: true });
  });
}
