import { PRIORITY_DEFAULT, PRIORITY_MAX, PRIORITY_MIN } from "@m3shd/protocol";
import { integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { checkBetween, timestamps } from "./columns";

/** Reusable prompts with `{variable}` placeholders, dispatched as tasks. */
export const taskTemplates = sqliteTable(
  "task_templates",
  {
    id: text().primaryKey(),
    name: text().notNull(),
    description: text().notNull().default(""),
    promptTemplate: text().notNull(),
    capability: text().notNull(),
    priority: integer().notNull().default(PRIORITY_DEFAULT),
    createdBy: text(),
    ...timestamps(),
  },
  (t) => [
    checkBetween("task_templates_priority_check", t.priority, PRIORITY_MIN, PRIORITY_MAX),
    uniqueIndex("task_templates_name_unique").on(t.name),
  ],
);
