import { jsonBody, pathParams, queryParams } from "@m3shd/service-kit";
import { z } from "zod";
import { authorize, principalOf } from "../middleware/auth";
import { ApiKeyIdSchema, CreateApiKeyBodySchema, UpdateApiKeyBodySchema } from "../schemas/security";
import { createApiKey, getApiKey, listApiKeys, revokeApiKey, updateApiKey } from "../services/api-keys";
import type { HubLimits } from "../services/limits";
import type { HubApp, RouteDeps } from "../types";

const SMALL_BODY = 16 * 1024;
const KeyPath = z.object({ id: ApiKeyIdSchema });

/** Third-party API keys (`m3shd_key_…`) with per-key caps: admin CRUD (`admin:tokens`). */
export function registerApiKeyRoutes(app: HubApp, { ctx, authenticate }: RouteDeps, limits: HubLimits) {
  app.post(
    "/api/keys",
    authorize("admin:tokens", authenticate),
    ...jsonBody(CreateApiKeyBodySchema, SMALL_BODY),
    (c) => c.json(createApiKey(ctx, principalOf(c), c.req.valid("json")), 201),
  );

  app.get(
    "/api/keys",
    authorize("admin:tokens", authenticate),
    queryParams(z.strictObject({ include_revoked: z.enum(["true", "false"]).optional() })),
    (c) => c.json({ api_keys: listApiKeys(ctx, c.req.valid("query").include_revoked === "true") }),
  );

  app.get("/api/keys/:id", authorize("admin:tokens", authenticate), pathParams(KeyPath), async (c) =>
    c.json({ api_key: await getApiKey(ctx, limits, c.req.valid("param").id) }),
  );

  app.patch(
    "/api/keys/:id",
    authorize("admin:tokens", authenticate),
    pathParams(KeyPath),
    ...jsonBody(UpdateApiKeyBodySchema, SMALL_BODY),
    (c) =>
      c.json({ api_key: updateApiKey(ctx, principalOf(c), c.req.valid("param").id, c.req.valid("json")) }),
  );

  app.delete("/api/keys/:id", authorize("admin:tokens", authenticate), pathParams(KeyPath), (c) =>
    c.json({ api_key: revokeApiKey(ctx, c.req.valid("param").id) }),
  );
}
