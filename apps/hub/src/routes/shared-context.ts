import { deleteContextRoute, getContextRoute, listContextRoute, putContextRoute } from "@m3shd/protocol";
import { deleteContext, getContext, listContext, putContext } from "../services/shared-context";
import type { HubApp, RouteDeps } from "../types";
import { callerId } from "./caller";
import { handle } from "./define";

/**
 * Shared context, mesh-wide key/value. It is working memory the whole mesh shares, so it uses the
 * memory permissions (which the worker preset holds: agents read and write it).
 */
export function registerSharedContextRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, listContextRoute, authenticate, (_c, { query }) => ({
    status: 200,
    body: listContext(ctx, query),
  }));

  handle(app, getContextRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: { entry: getContext(ctx, params.key) },
  }));

  handle(app, putContextRoute, authenticate, (c, { params, body }) => ({
    status: 200,
    body: { entry: putContext(ctx, params.key, body.value, callerId(c)) },
  }));

  handle(app, deleteContextRoute, authenticate, (_c, { params }) => {
    deleteContext(ctx, params.key);
    return { status: 200, body: { deleted: true as const } };
  });
}
