import {
  listMessages as dbListMessages,
  decodeTaskCursor,
  encodeTaskCursor,
  getMessage,
  insertMessage,
  toApiMessage,
} from "@m3shd/db";
import {
  type CreateMessageBody,
  type ListMessagesQuery,
  type Message,
  type MessageListResponse,
  NotFoundError,
  newId,
  ValidationError,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import { emit } from "./events";

/** `POST /api/messages`: store, then stream it to SSE subscribers as `message_created`. */
export async function postMessage(
  ctx: HubContext,
  body: CreateMessageBody,
  sender: string,
): Promise<Message> {
  const db = ctx.database.db;
  if (body.reply_to !== undefined && !getMessage(db, body.reply_to)) {
    throw new NotFoundError("message", body.reply_to);
  }
  const message = toApiMessage(
    insertMessage(db, {
      id: newId("msg"),
      channel: body.channel,
      sender,
      content: body.content,
      replyTo: body.reply_to ?? null,
      now: ctx.now(),
    }),
  );
  await emit(ctx, "message_created", { message });
  return message;
}

/** `GET /api/messages`: newest first, optionally one channel, keyset-paginated. */
export function listMessages(ctx: HubContext, query: ListMessagesQuery): MessageListResponse {
  let cursor = null;
  if (query.cursor !== undefined) {
    cursor = decodeTaskCursor(query.cursor);
    if (!cursor) {
      throw new ValidationError("Invalid cursor", [
        { path: ["cursor"], code: "custom", message: "Invalid cursor" },
      ]);
    }
  }
  const page = dbListMessages(ctx.database.db, {
    ...(query.channel !== undefined ? { channel: query.channel } : {}),
    cursor,
    limit: query.limit,
  });
  return {
    messages: page.items.map(toApiMessage),
    next_cursor: page.nextCursor ? encodeTaskCursor(page.nextCursor) : null,
  };
}
