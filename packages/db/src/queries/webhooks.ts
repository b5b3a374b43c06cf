import type { WebhookAction, WebhookKind } from "@m3shd/protocol";
import { and, desc, eq, sql } from "drizzle-orm";
import { inboundWebhooks, webhookDeliveries } from "../schema";
import type { Executor } from "../types";
import { isSqliteConstraintError } from "./sqlite-errors";

export type InboundWebhookRow = typeof inboundWebhooks.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;

export function insertInboundWebhook(
  db: Executor,
  input: {
    id: string;
    name: string;
    kind: WebhookKind;
    secretSealed: string;
    secretHint: string;
    events: string[];
    action: WebhookAction;
    createdBy: string | null;
    now: number;
  },
): InboundWebhookRow {
  return db
    .insert(inboundWebhooks)
    .values({ ...input, createdAt: input.now })
    .returning()
    .get();
}

export function getInboundWebhook(db: Executor, id: string): InboundWebhookRow | undefined {
  return db.select().from(inboundWebhooks).where(eq(inboundWebhooks.id, id)).get();
}

export function listInboundWebhooks(db: Executor): InboundWebhookRow[] {
  return db.select().from(inboundWebhooks).orderBy(desc(inboundWebhooks.createdAt)).all();
}

/** Deletes a webhook and (cascade) its deliveries; returns the deleted row. */
export function deleteInboundWebhook(db: Executor, id: string): InboundWebhookRow | undefined {
  return db.delete(inboundWebhooks).where(eq(inboundWebhooks.id, id)).returning().get();
}

/** Delivery counts by status, per webhook. */
export function countWebhookDeliveries(db: Executor): Map<string, Record<string, number>> {
  const rows = db
    .select({
      webhookId: webhookDeliveries.webhookId,
      status: webhookDeliveries.status,
      n: sql<number>`count(*)`,
    })
    .from(webhookDeliveries)
    .groupBy(webhookDeliveries.webhookId, webhookDeliveries.status)
    .all();
  const out = new Map<string, Record<string, number>>();
  for (const r of rows) {
    const counts = out.get(r.webhookId) ?? {};
    counts[r.status] = r.n;
    out.set(r.webhookId, counts);
  }
  return out;
}

/**
 * Records a delivery. An acted-on delivery (accepted or ignored) claims its sender delivery id:
 * when another already holds it, nothing is inserted and `false` comes back (a redelivery).
 */
export function insertWebhookDelivery(db: Executor, row: WebhookDeliveryRow): boolean {
  try {
    db.insert(webhookDeliveries).values(row).run();
    return true;
  } catch (err) {
    if (isSqliteConstraintError(err) && row.deliveryId !== null) return false;
    throw err;
  }
}

/** Whether an acted-on delivery with this sender id exists already. */
export function hasActedDelivery(db: Executor, webhookId: string, deliveryId: string): boolean {
  return (
    db
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.webhookId, webhookId),
          eq(webhookDeliveries.deliveryId, deliveryId),
          sql`${webhookDeliveries.status} IN ('accepted', 'ignored')`,
        ),
      )
      .get() !== undefined
  );
}

/** A webhook's deliveries, newest first. */
export function listWebhookDeliveries(db: Executor, webhookId: string, limit = 200): WebhookDeliveryRow[] {
  return db
    .select()
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.webhookId, webhookId))
    .orderBy(desc(webhookDeliveries.receivedAt), desc(webhookDeliveries.id))
    .limit(limit)
    .all();
}

/** Keeps the newest `keep` deliveries of a webhook (a flood of refused requests stays bounded). */
export function pruneWebhookDeliveries(db: Executor, webhookId: string, keep: number): number {
  return db
    .delete(webhookDeliveries)
    .where(
      and(
        eq(webhookDeliveries.webhookId, webhookId),
        sql`${webhookDeliveries.id} NOT IN (SELECT id FROM webhook_deliveries WHERE webhook_id = ${webhookId} ORDER BY received_at DESC, id DESC LIMIT ${keep})`,
      ),
    )
    .run().changes;
}
