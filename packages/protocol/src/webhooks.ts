import { z } from "zod";
import { CapabilitySchema, EpochMsSchema, prefixedIdSchema, TaskIdSchema } from "./ids";
import { boundedString, LIMITS } from "./limits";
import { PrioritySchema } from "./task";
import { TemplateIdSchema } from "./template";

/**
 * Inbound webhooks: GitHub, Uptime Kuma and any other system POST events to
 * `/api/webhooks/:id`; each one is checked against the webhook's secret, recorded as a delivery,
 * and turned into a task (a template dispatch or a prompt template) when its event passes the
 * filter.
 */
export const WEBHOOK_KINDS = ["generic", "github", "uptime-kuma"] as const;
export const WebhookKindSchema = z.enum(WEBHOOK_KINDS);
export type WebhookKind = z.infer<typeof WebhookKindSchema>;

export const WebhookIdSchema = prefixedIdSchema("whk");

/** Raw body ceiling of a delivery (GitHub's largest payloads are bigger; configure it to send JSON). */
export const WEBHOOK_BODY_BYTES = 1024 * 1024;
/** Deliveries accepted per webhook per minute; the next is a 429. */
export const WEBHOOK_RATE_PER_MINUTE = 10;

/**
 * A dotted path into the delivery's JSON payload (`repository.full_name`, `heartbeat.msg`,
 * `commits.0.message`). Only own properties are followed; a missing path yields "".
 */
export const PayloadPathSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+){0,15}$/,
    "Expected a dotted payload path like repository.full_name",
  );

/** What an accepted event does. */
export const WebhookActionSchema = z.discriminatedUnion("type", [
  z.strictObject({
    /** Dispatch a template; each variable's value is read from the payload at its path. */
    type: z.literal("template"),
    template_id: TemplateIdSchema,
    variables: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/), PayloadPathSchema).default({}),
    priority: PrioritySchema.optional(),
  }),
  z.strictObject({
    /**
     * Create a task whose prompt is `prompt_template` with `{path}` placeholders (dotted payload
     * paths, e.g. `{monitor.name}`) filled from the payload, each value cut to 2 KB.
     */
    type: z.literal("task"),
    title: z.string().trim().min(1).max(LIMITS.titleChars),
    prompt_template: boundedString(LIMITS.promptBytes).min(1),
    required_capability: CapabilitySchema,
    priority: PrioritySchema.optional(),
  }),
]);
export type WebhookAction = z.infer<typeof WebhookActionSchema>;

/** `POST /api/admin/webhooks`. */
export const CreateWebhookBodySchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  kind: WebhookKindSchema,
  /**
   * Events that act (GitHub: `X-GitHub-Event` values such as `push`, `issues`; Uptime Kuma:
   * `down`, `up`; generic: the payload's string `event` field). Empty: every event acts.
   */
  events: z.array(z.string().trim().min(1).max(64)).max(64).default([]),
  action: WebhookActionSchema,
  /**
   * The shared secret, when the sender already has one (GitHub lets you choose it); 16–256
   * printable characters. Omitted: the hub generates one. Either way it is returned once.
   */
  secret: z
    .string()
    .min(16)
    .max(256)
    .regex(/^[\x20-\x7e]+$/, "printable ASCII")
    .optional(),
});
export type CreateWebhookBody = z.output<typeof CreateWebhookBodySchema>;

export const WebhookSchema = z.object({
  id: WebhookIdSchema,
  name: z.string(),
  kind: WebhookKindSchema,
  events: z.array(z.string()),
  action: WebhookActionSchema,
  /** Where to send deliveries (a path on this hub). */
  url_path: z.string(),
  /** A fingerprint of the secret (`sha256:` + 12 hex), to tell secrets apart; never the secret. */
  secret_hint: z.string(),
  created_by: z.string().nullable(),
  created_at: EpochMsSchema,
  /** Deliveries recorded, by outcome. */
  deliveries: z.object({ accepted: z.int(), rejected: z.int(), ignored: z.int(), duplicate: z.int() }),
});
export type Webhook = z.infer<typeof WebhookSchema>;

/** `POST /api/admin/webhooks` → 201: the secret, shown this once (stored encrypted). */
export const CreatedWebhookResponseSchema = z.object({ webhook: WebhookSchema, secret: z.string() });
export const WebhookResponseSchema = z.object({ webhook: WebhookSchema });
export const WebhookListResponseSchema = z.object({ webhooks: z.array(WebhookSchema) });

export const WEBHOOK_DELIVERY_STATUSES = ["accepted", "rejected", "ignored", "duplicate"] as const;
export const WebhookDeliveryStatusSchema = z.enum(WEBHOOK_DELIVERY_STATUSES);

/** One recorded delivery: what came in and what the hub did with it. */
export const WebhookDeliverySchema = z.object({
  id: z.string(),
  webhook_id: WebhookIdSchema,
  /** `X-GitHub-Delivery`, `X-Webhook-Delivery` or null. */
  delivery_id: z.string().nullable(),
  event: z.string().nullable(),
  status: WebhookDeliveryStatusSchema,
  /** Why it was rejected or ignored (bad_signature, missing_secret, rate_limited, filtered, …). */
  reason: z.string().nullable(),
  http_status: z.int(),
  task_id: TaskIdSchema.nullable(),
  received_at: EpochMsSchema,
});
export type WebhookDelivery = z.infer<typeof WebhookDeliverySchema>;
export const WebhookDeliveryListResponseSchema = z.object({ deliveries: z.array(WebhookDeliverySchema) });

/** `POST /api/webhooks/:id` answers. */
export const WebhookReceiptSchema = z.object({
  status: WebhookDeliveryStatusSchema,
  delivery_id: z.string().nullable(),
  event: z.string().nullable(),
  task_id: TaskIdSchema.nullable(),
  reason: z.string().nullable(),
});
export type WebhookReceipt = z.infer<typeof WebhookReceiptSchema>;

/** Any JSON payload; its shape is the sender's. */
export const WebhookPayloadSchema = z.unknown();
