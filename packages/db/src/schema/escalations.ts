import { ESCALATION_STATUSES } from "@m3shd/protocol";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { agents } from "./agents";
import { checkIn, epochMs, timestamps } from "./columns";
import { tasks } from "./tasks";

/** Raised after an agent's consecutive failures, addressed to its escalation target. */
export const escalations = sqliteTable(
  "escalations",
  {
    id: text().primaryKey(),
    agentId: text()
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    /** The failed task that tripped the escalation, if any. */
    taskId: text().references(() => tasks.id, { onDelete: "set null" }),
    /** Agent id or `operator`. */
    target: text().notNull(),
    reason: text().notNull(),
    /** Consecutive failures of the agent when the escalation was raised. */
    failures: integer().notNull().default(0),
    status: text({ enum: ESCALATION_STATUSES }).notNull().default("open"),
    resolvedBy: text(),
    resolvedAt: epochMs(),
    resolution: text(),
    ...timestamps(),
  },
  (t) => [
    checkIn("escalations_status_check", t.status, ESCALATION_STATUSES),
    index("escalations_status_created_at_idx").on(t.status, t.createdAt),
    index("escalations_agent_id_idx").on(t.agentId),
  ],
);
