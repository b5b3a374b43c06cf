import type { Message } from "@m3shd/protocol";
import { and, desc, eq, type SQL, sql } from "drizzle-orm";
import { messages } from "../schema";
import type { Executor } from "../types";
import type { TaskCursor } from "./tasks";

export type MessageRow = typeof messages.$inferSelect;

/** A message row as the API returns it. */
export function toApiMessage(row: MessageRow): Message {
  return {
    id: row.id,
    channel: row.channel,
    from: row.sender,
    content: row.content,
    reply_to: row.replyTo,
    created_at: row.createdAt,
  };
}

export function insertMessage(
  db: Executor,
  input: {
    id: string;
    channel: string;
    sender: string;
    content: string;
    replyTo: string | null;
    now: number;
  },
): MessageRow {
  return db
    .insert(messages)
    .values({
      id: input.id,
      channel: input.channel,
      sender: input.sender,
      content: input.content,
      replyTo: input.replyTo,
      createdAt: input.now,
    })
    .returning()
    .get();
}

export function getMessage(db: Executor, id: string): MessageRow | undefined {
  return db.select().from(messages).where(eq(messages.id, id)).get();
}

/** Newest first, keyset-paginated on (created_at, id); served by `messages_channel_created_at_idx`. */
export function listMessages(
  db: Executor,
  input: { channel?: string; cursor?: TaskCursor | null; limit: number },
): { items: MessageRow[]; nextCursor: TaskCursor | null } {
  const conditions: SQL[] = [];
  if (input.channel !== undefined) conditions.push(eq(messages.channel, input.channel));
  if (input.cursor) {
    conditions.push(
      sql`(${messages.createdAt}, ${messages.id}) < (${input.cursor.createdAt}, ${input.cursor.id})`,
    );
  }
  const rows = db
    .select()
    .from(messages)
    .where(and(...conditions))
    .orderBy(desc(messages.createdAt), desc(messages.id))
    .limit(input.limit + 1)
    .all();
  const items = rows.slice(0, input.limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor: rows.length > input.limit && last ? { createdAt: last.createdAt, id: last.id } : null,
  };
}
