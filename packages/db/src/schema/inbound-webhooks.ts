import { WEBHOOK_DELIVERY_STATUSES, WEBHOOK_KINDS, type WebhookAction } from "@m3shd/protocol";
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { checkIn, createdAt } from "./columns";

/**
 * Inbound webhooks (`POST /api/webhooks/:id`): what sends to it, its secret (Fernet-sealed with
 * the hub's secrets key: it must be readable to check GitHub's HMAC, so it cannot be a hash), the
 * events that act and what they do.
 */
export const inboundWebhooks = sqliteTable(
  "inbound_webhooks",
  {
    id: text().primaryKey(),
    name: text().notNull(),
    kind: text({ enum: WEBHOOK_KINDS }).notNull(),
    secretSealed: text().notNull(),
    /** The secret's first characters, to tell secrets apart in a listing. */
    secretHint: text().notNull(),
    events: text({ mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    action: text({ mode: "json" }).$type<WebhookAction>().notNull(),
    createdBy: text(),
    createdAt: createdAt(),
  },
  (t) => [checkIn("inbound_webhooks_kind_check", t.kind, WEBHOOK_KINDS)],
);

/** Every delivery to an inbound webhook, accepted or not, and why. */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text().primaryKey(),
    webhookId: text()
      .notNull()
      .references(() => inboundWebhooks.id, { onDelete: "cascade" }),
    /** The sender's delivery id (`X-GitHub-Delivery`, `X-Webhook-Delivery`); unique per webhook. */
    deliveryId: text(),
    event: text(),
    status: text({ enum: WEBHOOK_DELIVERY_STATUSES }).notNull(),
    reason: text(),
    httpStatus: integer().notNull(),
    taskId: text(),
    receivedAt: integer().notNull(),
  },
  (t) => [
    checkIn("webhook_deliveries_status_check", t.status, WEBHOOK_DELIVERY_STATUSES),
    index("webhook_deliveries_webhook_idx").on(t.webhookId, t.receivedAt),
    // A redelivery is recognised by this: only an acted-on (accepted/ignored) delivery claims its id.
    uniqueIndex("webhook_deliveries_delivery_unique")
      .on(t.webhookId, t.deliveryId)
      .where(sql`delivery_id IS NOT NULL AND status IN ('accepted', 'ignored')`),
  ],
);
