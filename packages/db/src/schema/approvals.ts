import { APPROVAL_STATUSES } from "@m3shd/protocol";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { agents } from "./agents";
import { checkIn, epochMs, timestamps } from "./columns";
import { tasks } from "./tasks";

/** An agent asking the operator for permission before an action; expires at `expires_at`. */
export const approvals = sqliteTable(
  "approvals",
  {
    id: text().primaryKey(),
    agentId: text()
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    taskId: text().references(() => tasks.id, { onDelete: "set null" }),
    action: text().notNull(),
    description: text().notNull().default(""),
    status: text({ enum: APPROVAL_STATUSES }).notNull().default("pending"),
    expiresAt: integer().notNull(),
    decidedBy: text(),
    decidedAt: epochMs(),
    decisionNote: text(),
    ...timestamps(),
  },
  (t) => [
    checkIn("approvals_status_check", t.status, APPROVAL_STATUSES),
    // The expiry sweeper scans pending approvals by expiry.
    index("approvals_status_expires_at_idx").on(t.status, t.expiresAt),
    index("approvals_agent_id_idx").on(t.agentId),
  ],
);
