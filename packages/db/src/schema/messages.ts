import { type AnySQLiteColumn, index, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt } from "./columns";
import { tasks } from "./tasks";

/** Chat between the operator and agents, by channel. */
export const messages = sqliteTable(
  "messages",
  {
    id: text().primaryKey(),
    channel: text().notNull().default("general"),
    /** Agent id, user id or `operator`. */
    sender: text().notNull(),
    content: text().notNull(),
    replyTo: text().references((): AnySQLiteColumn => messages.id, { onDelete: "set null" }),
    taskId: text().references(() => tasks.id, { onDelete: "set null" }),
    createdAt: createdAt(),
  },
  (t) => [index("messages_channel_created_at_idx").on(t.channel, t.createdAt, t.id)],
);
