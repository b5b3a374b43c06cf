import {
  createWebhookRoute,
  deleteWebhookRoute,
  listWebhookDeliveriesRoute,
  listWebhooksRoute,
  meshControlRoute,
  receiveWebhookRoute,
  voiceDispatchRoute,
} from "@m3shd/protocol";
import { principalOf } from "../middleware/auth";
import type { HubLimits } from "../services/limits";
import { meshControl, voiceDispatch } from "../services/voice";
import {
  createWebhook,
  deleteWebhook,
  listWebhooks,
  receiveWebhook,
  webhookDeliveries,
} from "../services/webhooks";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/**
 * Inbound webhooks (admin CRUD and the public receiver, authenticated by each webhook's own
 * secret), voice dispatch and natural-language mesh control.
 */
export function registerWebhookRoutes(app: HubApp, { ctx, authenticate }: RouteDeps, limits: HubLimits) {
  handle(app, createWebhookRoute, authenticate, (c, { body }) => ({
    status: 201,
    body: createWebhook(ctx, body, principalOf(c).subject),
  }));

  handle(app, listWebhooksRoute, authenticate, () => ({
    status: 200,
    body: { webhooks: listWebhooks(ctx) },
  }));

  handle(app, deleteWebhookRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: { webhook: deleteWebhook(ctx, params.id) },
  }));

  handle(app, listWebhookDeliveriesRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: { deliveries: webhookDeliveries(ctx, params.id) },
  }));

  handle(app, receiveWebhookRoute, authenticate, async (c, { params, body }) => {
    const { status, receipt } = await receiveWebhook(ctx, limits.webhookMinute, params.id, {
      headers: (name) => c.req.header(name),
      // The edge read the body as text to validate it; Hono hands back that same text.
      rawBody: await c.req.text(),
      payload: body,
      hasQuery: new URL(c.req.url).search.length > 0,
    });
    return { status, body: receipt };
  });

  handle(app, voiceDispatchRoute, authenticate, async (c, { body }) =>
    voiceDispatch(ctx, body, principalOf(c).subject),
  );

  handle(app, meshControlRoute, authenticate, async (_c, { body }) => ({
    status: 200,
    body: await meshControl(ctx, body),
  }));
}
