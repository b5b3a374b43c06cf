import type { JobPayload } from "@m3shd/protocol";
import { UnrecoverableJobError } from "@m3shd/queue";
import type { HubContext } from "../context";
import { type NtfyConfig, workflowsOf } from "./workflow-config";

/**
 * Alerts to ntfy. Producers only enqueue an `alerts.send` job (fast, never waits for ntfy); this
 * consumer delivers it in the background. A failed delivery (ntfy down, slow past the timeout,
 * 5xx, 429) throws, and the queue retries it with exponential backoff (the job catalog's policy);
 * a 4xx other than 429 (bad topic, bad credentials) would fail the same way forever and is not
 * retried.
 */

/** Starts the `alerts.send` consumer (one per hub process; BullMQ shares the work between hubs). */
export function startAlertConsumer(ctx: HubContext): void {
  ctx.queue.jobs.consume(
    "alerts.send",
    async (alert, meta) => {
      const ntfy = workflowsOf(ctx).ntfy;
      if (!ntfy) {
        ctx.logger.debug(
          { kind: alert.kind, dedupeKey: alert.dedupeKey },
          "alert dropped: no ntfy configured",
        );
        return;
      }
      await publishToNtfy(ntfy, alert);
      ctx.logger.info({ kind: alert.kind, dedupeKey: alert.dedupeKey, attempt: meta.attempt }, "alert sent");
    },
    { concurrency: 4 },
  );
}

/** What one ntfy publish carries (an alert job, or the `notify` tool's message). */
export type NtfyPublish = Pick<JobPayload<"alerts.send">, "title" | "message" | "priority" | "tags">;

/** One publish, in ntfy's JSON form: POST to the server root with the topic in the body. */
export async function publishToNtfy(ntfy: NtfyConfig, alert: NtfyPublish): Promise<void> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (ntfy.token) headers.authorization = `Bearer ${ntfy.token}`;
  else if (ntfy.username !== undefined && ntfy.password !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${ntfy.username}:${ntfy.password}`).toString("base64")}`;
  }
  const res = await fetch(`${ntfy.url.replace(/\/+$/, "")}/`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      topic: ntfy.topic,
      title: alert.title,
      message: alert.message,
      priority: alert.priority,
      tags: alert.tags,
    }),
    signal: AbortSignal.timeout(ntfy.timeoutMs ?? 10_000),
  });
  // Drain the body so the connection can be reused.
  const text = await res.text().catch(() => "");
  if (res.ok) return;
  const message = `ntfy answered ${res.status}: ${text.slice(0, 200)}`;
  if (res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408) {
    throw new UnrecoverableJobError(message);
  }
  throw new Error(message);
}
