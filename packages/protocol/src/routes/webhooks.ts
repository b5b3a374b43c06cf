import { z } from "zod";
import { defineRoute } from "../route";
import {
  MeshControlBodySchema,
  MeshControlResponseSchema,
  VoiceDispatchBodySchema,
  VoiceDispatchResponseSchema,
} from "../voice";
import {
  CreatedWebhookResponseSchema,
  CreateWebhookBodySchema,
  WEBHOOK_BODY_BYTES,
  WEBHOOK_RATE_PER_MINUTE,
  WebhookDeliveryListResponseSchema,
  WebhookIdSchema,
  WebhookListResponseSchema,
  WebhookPayloadSchema,
  WebhookReceiptSchema,
  WebhookResponseSchema,
} from "../webhooks";
import { SMALL_BODY_BYTES } from "./common";

export const WebhookPathSchema = z.object({ id: WebhookIdSchema });

export const createWebhookRoute = defineRoute({
  id: "webhooks.create",
  method: "POST",
  path: "/api/admin/webhooks",
  permission: "admin:webhooks",
  summary: "Create an inbound webhook (its secret is shown once)",
  description:
    "The secret is stored encrypted. Deliveries go to `url_path`: `generic` and `uptime-kuma` send it as `X-Webhook-Secret` (never in the query string), `github` signs with it (`X-Hub-Signature-256`).",
  tags: ["webhooks"],
  body: CreateWebhookBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 201: CreatedWebhookResponseSchema },
  errors: [404],
});

export const listWebhooksRoute = defineRoute({
  id: "webhooks.list",
  method: "GET",
  path: "/api/admin/webhooks",
  permission: "admin:webhooks",
  summary: "List inbound webhooks with their delivery counts (never the secrets)",
  tags: ["webhooks"],
  responses: { 200: WebhookListResponseSchema },
});

export const deleteWebhookRoute = defineRoute({
  id: "webhooks.delete",
  method: "DELETE",
  path: "/api/admin/webhooks/:id",
  permission: "admin:webhooks",
  summary: "Delete an inbound webhook; later deliveries to it are 404",
  tags: ["webhooks"],
  params: WebhookPathSchema,
  responses: { 200: WebhookResponseSchema },
  errors: [404],
});

export const listWebhookDeliveriesRoute = defineRoute({
  id: "webhooks.deliveries",
  method: "GET",
  path: "/api/admin/webhooks/:id/deliveries",
  permission: "admin:webhooks",
  summary: "A webhook's recorded deliveries, newest first: accepted, rejected (and why), ignored, duplicate",
  tags: ["webhooks"],
  params: WebhookPathSchema,
  responses: { 200: WebhookDeliveryListResponseSchema },
  errors: [404],
});

export const receiveWebhookRoute = defineRoute({
  id: "webhooks.receive",
  method: "POST",
  path: "/api/webhooks/:id",
  permission: "public",
  summary: "Deliver an event to an inbound webhook",
  description: `Authenticated by the webhook's secret, not a bearer token: \`X-Webhook-Secret\` (generic, Uptime Kuma; compared in constant time) or \`X-Hub-Signature-256\` over the raw body (GitHub). A query string is refused (400): secrets never travel in URLs. ${WEBHOOK_RATE_PER_MINUTE} deliveries per minute per webhook (then 429). A redelivered \`X-GitHub-Delivery\` (or \`X-Webhook-Delivery\`) is acknowledged as \`duplicate\` and not acted on twice. Every delivery is recorded.`,
  tags: ["webhooks"],
  params: WebhookPathSchema,
  body: WebhookPayloadSchema,
  bodyLimitBytes: WEBHOOK_BODY_BYTES,
  responses: { 200: WebhookReceiptSchema, 202: WebhookReceiptSchema },
  errors: [400, 401, 404, 413, 415, 422, 429],
});

export const voiceDispatchRoute = defineRoute({
  id: "voice.dispatch",
  method: "POST",
  path: "/api/voice/dispatch",
  permission: "voice:dispatch",
  summary: "Dispatch a template from a sentence (a Siri Shortcut, a chat line)",
  description:
    "A deterministic matcher reads `<template name or alias> <value>` and `name=value` pairs; when it finds nothing and an interpreter model is configured, the model picks the template and variables (validated like any dispatch). The reply is one sentence, ready to be spoken.",
  tags: ["voice"],
  body: VoiceDispatchBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 200: VoiceDispatchResponseSchema, 201: VoiceDispatchResponseSchema },
  errors: [422],
});

export const meshControlRoute = defineRoute({
  id: "mesh.control",
  method: "POST",
  path: "/api/mesh/control",
  permission: "agents:admin",
  summary: "Reconfigure the fleet or ask about it in a sentence; changes apply only on confirmation",
  description:
    "A sentence becomes one operation from a closed set (restrict capabilities, clear a restriction, maintenance on/off, max concurrent, count tasks). `dry_run` defaults to true: the answer shows the operation; send that `operation` back with `dry_run: false` to apply it. Anything outside the set is refused (422) with what is supported.",
  tags: ["voice"],
  body: MeshControlBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 200: MeshControlResponseSchema },
  errors: [404, 422],
});

export const WEBHOOK_ROUTES = [
  createWebhookRoute,
  listWebhooksRoute,
  deleteWebhookRoute,
  listWebhookDeliveriesRoute,
  receiveWebhookRoute,
  voiceDispatchRoute,
  meshControlRoute,
] as const;
