import { createHash, hkdfSync, randomBytes } from "node:crypto";
import { constantTimeEqual, Fernet, hmacSha256 } from "@m3shd/crypto";
import {
  countWebhookDeliveries,
  deleteInboundWebhook,
  getInboundWebhook,
  getTemplate,
  hasActedDelivery,
  type InboundWebhookRow,
  insertInboundWebhook,
  insertWebhookDelivery,
  listInboundWebhooks,
  listWebhookDeliveries,
  pruneWebhookDeliveries,
} from "@m3shd/db";
import {
  CreateTaskBodySchema,
  type CreateWebhookBody,
  checkTemplateVariables,
  LIMITS,
  M3shdError,
  NotFoundError,
  newId,
  RateLimitedError,
  renderTemplate,
  ValidationError,
  WEBHOOK_RATE_PER_MINUTE,
  type Webhook,
  type WebhookDelivery,
  type WebhookReceipt,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import { audited } from "./audit";
import { secondsUntil, type WindowCounter } from "./limits";
import { submitTask } from "./tasks";

/** Deliveries kept per webhook (older ones are pruned as new ones arrive). */
const DELIVERIES_KEPT = 1000;
/** A value read from a payload is cut to this many bytes before it enters a prompt. */
const VALUE_BYTES = 2 * 1024;
const DELIVERY_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const fernets = new WeakMap<object, Fernet>();

/** The hub's sealer for secrets it must read back (HKDF from the provenance key when no key is set). */
function sealer(ctx: HubContext): Fernet {
  let f = fernets.get(ctx.config);
  if (!f) {
    const key =
      ctx.config.secretsKey ??
      Buffer.from(hkdfSync("sha256", ctx.config.provenanceKey, "m3shd", "m3shd secrets v1", 32));
    f = new Fernet(key);
    fernets.set(ctx.config, f);
  }
  return f;
}

function toApiWebhook(row: InboundWebhookRow, counts: Record<string, number> = {}): Webhook {
  return {
    id: row.id as Webhook["id"],
    name: row.name,
    kind: row.kind,
    events: row.events,
    action: row.action,
    url_path: `/api/webhooks/${row.id}`,
    secret_hint: row.secretHint,
    created_by: row.createdBy,
    created_at: row.createdAt,
    deliveries: {
      accepted: counts.accepted ?? 0,
      rejected: counts.rejected ?? 0,
      ignored: counts.ignored ?? 0,
      duplicate: counts.duplicate ?? 0,
    },
  };
}

/** `POST /api/admin/webhooks`: the secret is generated here, sealed at rest and returned once. */
export function createWebhook(
  ctx: HubContext,
  body: CreateWebhookBody,
  createdBy: string,
): { webhook: Webhook; secret: string } {
  if (body.action.type === "template") {
    const template = getTemplate(ctx.database.db, body.action.template_id);
    if (!template) throw new NotFoundError("template", body.action.template_id);
    const { missing, extra } = checkTemplateVariables(
      template.promptTemplate,
      Object.fromEntries(Object.keys(body.action.variables).map((k) => [k, ""])),
    );
    if (missing.length > 0 || extra.length > 0)
      throw new ValidationError("The action's variables must map exactly the template's placeholders", [
        ...missing.map((v) => ({
          path: ["action", "variables", v],
          code: "missing",
          message: `missing ${v}`,
        })),
        ...extra.map((v) => ({ path: ["action", "variables", v], code: "unknown", message: `unknown ${v}` })),
      ]);
  }
  const secret = body.secret ?? `whsec_${randomBytes(24).toString("base64url")}`;
  const row = audited(
    ctx,
    "webhook.create",
    (tx) =>
      insertInboundWebhook(tx, {
        id: newId("whk"),
        name: body.name,
        kind: body.kind,
        secretSealed: sealer(ctx).encrypt(secret),
        // A fingerprint, not a prefix: tells secrets apart without revealing any of one.
        secretHint: `sha256:${createHash("sha256").update(secret).digest("hex").slice(0, 12)}`,
        events: body.events,
        action: body.action,
        createdBy,
        now: ctx.now(),
      }),
    (created) => created.id,
  );
  return { webhook: toApiWebhook(row), secret };
}

export function listWebhooks(ctx: HubContext): Webhook[] {
  const counts = countWebhookDeliveries(ctx.database.db);
  return listInboundWebhooks(ctx.database.db).map((row) => toApiWebhook(row, counts.get(row.id)));
}

export function deleteWebhook(ctx: HubContext, id: string): Webhook {
  const counts = countWebhookDeliveries(ctx.database.db).get(id);
  const row = audited(
    ctx,
    "webhook.delete",
    (tx) => deleteInboundWebhook(tx, id),
    (r) => r?.id,
  );
  if (!row) throw new NotFoundError("webhook", id);
  return toApiWebhook(row, counts);
}

export function webhookDeliveries(ctx: HubContext, id: string): WebhookDelivery[] {
  if (!getInboundWebhook(ctx.database.db, id)) throw new NotFoundError("webhook", id);
  return listWebhookDeliveries(ctx.database.db, id).map((d) => ({
    id: d.id,
    webhook_id: d.webhookId as WebhookDelivery["webhook_id"],
    delivery_id: d.deliveryId,
    event: d.event,
    status: d.status,
    reason: d.reason,
    http_status: d.httpStatus,
    task_id: (d.taskId as WebhookDelivery["task_id"]) ?? null,
    received_at: d.receivedAt,
  }));
}

/** What the receiver needs of the HTTP request. */
export interface WebhookRequest {
  headers: (name: string) => string | undefined;
  /** The raw body exactly as received (GitHub signs these bytes). */
  rawBody: string;
  /** The body parsed as JSON (already validated as JSON by the edge). */
  payload: unknown;
  hasQuery: boolean;
}

/** Refusals are recorded, then thrown with their HTTP status. */
class Refused extends Error {
  constructor(
    readonly error: M3shdError,
    readonly reason: string,
    readonly httpStatus: number,
  ) {
    super(reason);
  }
}

/**
 * `POST /api/webhooks/:id`: authenticate by the webhook's secret, rate-limit, classify the event,
 * drop a redelivery, filter, act. Every outcome is recorded as a delivery; the task of an accepted
 * one is created under an idempotency key of the sender's delivery id, so even two copies of one
 * delivery racing each other create one task.
 */
export async function receiveWebhook(
  ctx: HubContext,
  limiter: WindowCounter,
  id: string,
  req: WebhookRequest,
): Promise<{ status: 200 | 202; receipt: WebhookReceipt }> {
  const db = ctx.database.db;
  const row = getInboundWebhook(db, id);
  if (!row) throw new NotFoundError("webhook", id);
  const now = ctx.now();
  const rawDeliveryId = req.headers("x-github-delivery") ?? req.headers("x-webhook-delivery") ?? null;
  const deliveryId = rawDeliveryId !== null && DELIVERY_ID.test(rawDeliveryId) ? rawDeliveryId : null;
  const record = (
    status: WebhookReceipt["status"],
    httpStatus: number,
    fields: { event?: string | null; reason?: string | null; taskId?: string | null },
  ): boolean => {
    const inserted = insertWebhookDelivery(db, {
      id: newId("evt"),
      webhookId: id,
      // Only an acted-on delivery (accepted, ignored) claims the sender's id (a partial unique
      // index); refusals and duplicates keep it for the record without taking part.
      deliveryId,
      event: fields.event ?? null,
      status,
      reason: fields.reason ?? null,
      httpStatus,
      taskId: fields.taskId ?? null,
      receivedAt: now,
    });
    pruneWebhookDeliveries(db, id, DELIVERIES_KEPT);
    return inserted;
  };

  try {
    // Every request counts, refused or not: a flood of bad ones is limited like good ones.
    const count = await limiter.hit(id, now);
    if (count > WEBHOOK_RATE_PER_MINUTE)
      throw new Refused(
        new RateLimitedError(
          secondsUntil(limiter.windowEnd(now), now),
          `Webhook rate limit: ${WEBHOOK_RATE_PER_MINUTE} deliveries per minute`,
        ),
        "rate_limited",
        429,
      );
    if (req.hasQuery)
      throw new Refused(
        new M3shdError(
          "bad_request",
          "A webhook URL takes no query string: send the secret in the X-Webhook-Secret header",
        ),
        "query_string",
        400,
      );
    const secret = sealer(ctx).decrypt(row.secretSealed).toString("utf8");
    authenticate(row, secret, req);
    if (rawDeliveryId !== null && deliveryId === null)
      throw new Refused(
        new M3shdError("bad_request", "Delivery id must be 1-128 characters of A-Za-z0-9._:-"),
        "bad_delivery_id",
        400,
      );
    const event = classify(row, req);
    if (deliveryId !== null && hasActedDelivery(db, id, deliveryId)) {
      record("duplicate", 200, { event, reason: "already delivered" });
      return { status: 200, receipt: receipt("duplicate", deliveryId, event, null, "already delivered") };
    }
    if (event === "ping" || (row.events.length > 0 && !row.events.includes(event))) {
      const reason = event === "ping" ? "ping" : "filtered";
      if (!record("ignored", 200, { event, reason })) {
        return { status: 200, receipt: receipt("duplicate", deliveryId, event, null, "already delivered") };
      }
      return { status: 200, receipt: receipt("ignored", deliveryId, event, null, reason) };
    }
    const task = await act(ctx, row, event, deliveryId, req.payload);
    if (!record("accepted", 202, { event, taskId: task.id })) {
      // A copy of this delivery raced us and recorded first; the task is the same one (same key).
      return { status: 200, receipt: receipt("duplicate", deliveryId, event, task.id, "already delivered") };
    }
    return { status: 202, receipt: receipt("accepted", deliveryId, event, task.id, null) };
  } catch (err) {
    if (err instanceof Refused) {
      record("rejected", err.httpStatus, { reason: err.reason });
      throw err.error;
    }
    if (err instanceof M3shdError) {
      record("rejected", err.code === "not_found" ? 404 : 422, { reason: err.code });
    }
    throw err;
  }
}

function receipt(
  status: WebhookReceipt["status"],
  deliveryId: string | null,
  event: string | null,
  taskId: string | null,
  reason: string | null,
): WebhookReceipt {
  return { status, delivery_id: deliveryId, event, task_id: taskId as WebhookReceipt["task_id"], reason };
}

/** GitHub's `X-Hub-Signature-256` for a body: `sha256=` + HMAC-SHA256(secret, UTF-8 bytes) in hex. */
export function githubSignature(secret: string, rawBody: string): string {
  return `sha256=${hmacSha256(secret, Buffer.from(rawBody, "utf8")).toString("hex")}`;
}

/** Secrets and signatures, compared in constant time over equal-length digests. */
function authenticate(row: InboundWebhookRow, secret: string, req: WebhookRequest): void {
  const unauthorized = (reason: string, message: string) =>
    new Refused(new M3shdError("unauthorized", message), reason, 401);
  if (row.kind === "github") {
    const given = req.headers("x-hub-signature-256");
    if (!given) throw unauthorized("missing_signature", "X-Hub-Signature-256 is required");
    const expected = githubSignature(secret, req.rawBody);
    if (!constantTimeEqual(given, expected))
      throw unauthorized("bad_signature", "X-Hub-Signature-256 does not match the body");
    return;
  }
  const given = req.headers("x-webhook-secret");
  if (!given) throw unauthorized("missing_secret", "X-Webhook-Secret is required");
  if (!constantTimeEqual(given, secret)) throw unauthorized("bad_secret", "X-Webhook-Secret does not match");
}

/** The event a delivery carries, by kind. */
function classify(row: InboundWebhookRow, req: WebhookRequest): string {
  const payload = req.payload as Record<string, unknown> | null;
  if (row.kind === "github") {
    const event = req.headers("x-github-event");
    if (!event || !/^[a-z_]{1,64}$/.test(event))
      throw new Refused(new M3shdError("bad_request", "X-GitHub-Event is required"), "missing_event", 400);
    return event;
  }
  if (row.kind === "uptime-kuma") {
    // Uptime Kuma's notification body: exactly {heartbeat, monitor, msg} (null heartbeat: "Test").
    const shaped =
      payload !== null &&
      typeof payload === "object" &&
      !Array.isArray(payload) &&
      "heartbeat" in payload &&
      "monitor" in payload &&
      typeof payload.msg === "string";
    if (!shaped)
      throw new Refused(
        new ValidationError("Not an Uptime Kuma notification: expected {heartbeat, monitor, msg}"),
        "not_uptime_kuma",
        422,
      );
    const heartbeat = payload.heartbeat as { status?: unknown } | null;
    if (heartbeat === null) return "test";
    return (
      ({ 0: "down", 1: "up", 2: "pending", 3: "maintenance" } as Record<number, string>)[
        Number(heartbeat.status)
      ] ?? "unknown"
    );
  }
  const event =
    payload !== null && typeof payload === "object" ? (payload as { event?: unknown }).event : undefined;
  return typeof event === "string" && /^[A-Za-z0-9_.:-]{1,64}$/.test(event) ? event : "generic";
}

/** A payload value at a dotted path, as prompt text (own properties only; objects as JSON). */
export function valueAt(payload: unknown, path: string): string {
  let cur: unknown = payload;
  for (const key of path.split(".")) {
    if (cur === null || typeof cur !== "object" || !Object.hasOwn(cur, key)) return "";
    cur = (cur as Record<string, unknown>)[key];
  }
  if (cur === null || cur === undefined) return "";
  const text = typeof cur === "string" ? cur : JSON.stringify(cur);
  return cutBytes(text, VALUE_BYTES);
}

function cutBytes(text: string, max: number): string {
  const buf = Buffer.from(text, "utf8");
  if (buf.length <= max) return text;
  // Back off to a character boundary.
  let end = max;
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString("utf8");
}

/** `{path}` placeholders filled from the payload, in one pass (a value is never expanded again). */
export function renderPayloadTemplate(template: string, payload: unknown): string {
  return template.replace(/\{([A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+){0,15})\}/g, (_, path: string) =>
    valueAt(payload, path),
  );
}

async function act(
  ctx: HubContext,
  row: InboundWebhookRow,
  event: string,
  deliveryId: string | null,
  payload: unknown,
) {
  const action = row.action;
  let input: Record<string, unknown>;
  if (action.type === "template") {
    const template = getTemplate(ctx.database.db, action.template_id);
    if (!template) throw new NotFoundError("template", action.template_id);
    const variables = Object.fromEntries(
      Object.entries(action.variables).map(([name, path]) => [name, valueAt(payload, path) || "(empty)"]),
    );
    input = {
      title: `${template.name} (${row.name}: ${event})`.slice(0, LIMITS.titleChars),
      prompt: cutBytes(renderTemplate(template.promptTemplate, variables), LIMITS.promptBytes),
      required_capability: template.capability,
      priority: action.priority ?? template.priority,
    };
  } else {
    input = {
      title: action.title,
      prompt:
        cutBytes(renderPayloadTemplate(action.prompt_template, payload), LIMITS.promptBytes) || action.title,
      required_capability: action.required_capability,
      ...(action.priority !== undefined ? { priority: action.priority } : {}),
    };
  }
  if (deliveryId !== null) input.idempotency_key = `webhook-${deliveryId}`.slice(0, 128);
  const parsed = CreateTaskBodySchema.parse(input);
  return (await submitTask(ctx, parsed, `webhook:${row.id}`)).task;
}
