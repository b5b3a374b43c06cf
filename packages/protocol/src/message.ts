import { z } from "zod";
import { EpochMsSchema, MessageIdSchema } from "./ids";
import { boundedString, LIMITS } from "./limits";
import { CursorSchema, ListLimitSchema } from "./pagination";

/** Chat channel name (`general`, `ops`, `imessage:+15551234567`…). */
export const ChannelSchema = z
  .string()
  .regex(/^[a-z0-9_.:+-]{1,64}$/, "Expected a channel name matching ^[a-z0-9_.:+-]{1,64}$");
export type Channel = z.infer<typeof ChannelSchema>;

/** Default channel when a message names none. */
export const DEFAULT_CHANNEL = "general";

/** A chat message as returned by the API and carried by `message_created`. */
export const MessageSchema = z.object({
  id: MessageIdSchema,
  channel: ChannelSchema,
  /** Sender: an agent id, or `user:<name>` / `operator` for people (set by the hub from the caller). */
  from: z.string(),
  /** At most `LIMITS.messageBytes` (50 KB) UTF-8 bytes. */
  content: boundedString(LIMITS.messageBytes),
  /** Message this one answers. */
  reply_to: MessageIdSchema.nullable(),
  created_at: EpochMsSchema,
});
export type Message = z.infer<typeof MessageSchema>;

/** `POST /api/messages`. The sender is the authenticated caller, never a body field. */
export const CreateMessageBodySchema = z.strictObject({
  content: boundedString(LIMITS.messageBytes).min(1),
  channel: ChannelSchema.default(DEFAULT_CHANNEL),
  reply_to: MessageIdSchema.optional(),
});
export type CreateMessageBody = z.output<typeof CreateMessageBodySchema>;

/** `GET /api/messages` query. */
export const ListMessagesQuerySchema = z.strictObject({
  channel: ChannelSchema.optional(),
  cursor: CursorSchema.optional(),
  limit: ListLimitSchema,
});
export type ListMessagesQuery = z.output<typeof ListMessagesQuerySchema>;

/** `GET /api/messages` response. */
export const MessageListResponseSchema = z.object({
  messages: z.array(MessageSchema),
  next_cursor: CursorSchema.nullable(),
});
export type MessageListResponse = z.infer<typeof MessageListResponseSchema>;
