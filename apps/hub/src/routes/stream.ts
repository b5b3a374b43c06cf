import { type MeshEvent, newId, streamRoute } from "@m3shd/protocol";
import { streamSSE } from "hono/streaming";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/**
 * `GET /api/stream` — Server-Sent Events. Each frame carries the event id (`id:`), its type
 * (`event:`) and the whole event as JSON (`data:`). Reconnect with `Last-Event-ID` to resume from
 * the replay buffer; a `: gap` comment says the id was no longer buffered. A subscriber that falls
 * 500 events behind gets a final `subscriber_dropped` event and the stream closes.
 */
export function registerStreamRoutes(app: HubApp, { ctx, authenticate, streamHub }: RouteDeps) {
  handle(app, streamRoute, authenticate, (c, { query }) => {
    const lastEventId = c.req.header("last-event-id") ?? query.last_event_id;
    const { subscriber, gap } = streamHub.subscribe({
      lastEventId,
      types: query.types ? new Set(query.types) : undefined,
    });
    c.header("X-Accel-Buffering", "no");
    // A dropped subscriber whose client reads nothing would leave this loop blocked on a write
    // forever: after a grace second the socket is destroyed, which fails the pending write.
    const socket = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
    subscriber.onDropped(() => {
      setTimeout(() => {
        if (!finished) socket?.destroy();
      }, 1000).unref();
    });
    let finished = false;
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => subscriber.close());
      const send = (e: MeshEvent) => stream.writeSSE({ id: e.id, event: e.type, data: JSON.stringify(e) });
      await stream.write(gap ? ": gap\n\n" : ": connected\n\n");
      while (!stream.aborted && !stream.closed) {
        const batch = await subscriber.next(ctx.config.sse.keepaliveMs);
        if (batch.kind === "closed") break;
        if (batch.kind === "idle") {
          await stream.write(": keepalive\n\n");
          continue;
        }
        if (batch.kind === "dropped") {
          const final: MeshEvent = {
            type: "subscriber_dropped",
            id: newId("evt"),
            ts: ctx.now(),
            data: { reason: "slow_consumer", queue_limit: subscriber.limit },
          };
          // Bounded: a client that reads nothing at all must not pin this loop.
          await Promise.race([send(final), new Promise((r) => setTimeout(r, 1000).unref())]);
          break;
        }
        for (const e of batch.events) await send(e);
      }
      finished = true;
      subscriber.close();
      // streamSSE closes the stream after this callback, ending the chunked response cleanly.
    });
  });
}
