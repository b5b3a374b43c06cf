import { z } from "zod";
import { EVENT_TYPES, MeshEventSchema } from "../events";
import { defineRoute, sseResponse } from "../route";

/** `GET /api/stream` query. */
export const StreamQuerySchema = z.strictObject({
  /** Comma-separated event types to receive (default: all). */
  types: z
    .string()
    .max(2048)
    .transform((v) => v.split(",").filter(Boolean))
    .pipe(z.array(z.enum(EVENT_TYPES)).max(EVENT_TYPES.length))
    .optional()
    .describe("Comma-separated event types to receive (default: all)"),
  /** Alternative to the `Last-Event-ID` header for clients that cannot set headers. */
  last_event_id: z
    .string()
    .max(64)
    .optional()
    .describe("Resume after this event id (for clients that cannot set `Last-Event-ID`)"),
});
export type StreamQuery = z.output<typeof StreamQuerySchema>;

export const streamRoute = defineRoute({
  id: "stream.events",
  method: "GET",
  path: "/api/stream",
  permission: "tasks:read",
  summary: "Server-Sent Events: every mesh event as it happens",
  description:
    "Each frame carries the event id (`id:`), its type (`event:`) and the whole event as JSON (`data:`). " +
    "Reconnect with `Last-Event-ID` to resume from the replay buffer; a `: gap` comment says the id was no " +
    "longer buffered. A subscriber that falls too far behind gets a final `subscriber_dropped` event and the " +
    "stream closes.",
  tags: ["stream"],
  query: StreamQuerySchema,
  responses: { 200: sseResponse(MeshEventSchema) },
});

export const STREAM_ROUTES = [streamRoute] as const;
