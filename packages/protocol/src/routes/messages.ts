import { z } from "zod";
import { LIMITS } from "../limits";
import {
  CreateMessageBodySchema,
  ListMessagesQuerySchema,
  MessageListResponseSchema,
  MessageSchema,
} from "../message";
import { defineRoute } from "../route";

/** `POST /api/messages` (201). */
export const MessageResponseSchema = z.object({ message: MessageSchema });
export type MessageResponse = z.infer<typeof MessageResponseSchema>;

export const postMessageRoute = defineRoute({
  id: "messages.create",
  method: "POST",
  path: "/api/messages",
  permission: "messages:write",
  summary: "Post a chat message (streamed as `message_created`)",
  description: "The sender is the caller (the acting agent, else the principal), never a body field.",
  tags: ["messages"],
  body: CreateMessageBodySchema,
  bodyLimitBytes: 4 * LIMITS.messageBytes + 4 * 1024,
  responses: { 201: MessageResponseSchema },
  errors: [404],
});

export const listMessagesRoute = defineRoute({
  id: "messages.list",
  method: "GET",
  path: "/api/messages",
  permission: "messages:read",
  summary: "Read messages, newest first, optionally one channel",
  tags: ["messages"],
  query: ListMessagesQuerySchema,
  responses: { 200: MessageListResponseSchema },
});

export const MESSAGE_ROUTES = [postMessageRoute, listMessagesRoute] as const;
