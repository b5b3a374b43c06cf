import { createKeyRoute, getKeyRoute, listKeysRoute, revokeKeyRoute, updateKeyRoute } from "@m3shd/protocol";
import { principalOf } from "../middleware/auth";
import { createApiKey, getApiKey, listApiKeys, revokeApiKey, updateApiKey } from "../services/api-keys";
import type { HubLimits } from "../services/limits";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** Third-party API keys (`m3shd_key_…`) with per-key caps: admin CRUD (`admin:tokens`). */
export function registerApiKeyRoutes(app: HubApp, { ctx, authenticate }: RouteDeps, limits: HubLimits) {
  handle(app, createKeyRoute, authenticate, (c, { body }) => ({
    status: 201,
    body: createApiKey(ctx, principalOf(c), body),
  }));

  handle(app, listKeysRoute, authenticate, (_c, { query }) => ({
    status: 200,
    body: { api_keys: listApiKeys(ctx, query.include_revoked === "true") },
  }));

  handle(app, getKeyRoute, authenticate, async (_c, { params }) => ({
    status: 200,
    body: { api_key: await getApiKey(ctx, limits, params.id) },
  }));

  handle(app, updateKeyRoute, authenticate, (c, { params, body }) => ({
    status: 200,
    body: { api_key: updateApiKey(ctx, principalOf(c), params.id, body) },
  }));

  handle(app, revokeKeyRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: { api_key: revokeApiKey(ctx, params.id) },
  }));
}
