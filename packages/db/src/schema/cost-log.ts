import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { checkAtLeast, createdAt } from "./columns";
import { tasks } from "./tasks";

/**
 * One row per model call. `agent_id` is deliberately not a foreign key: spend history outlives
 * the agent row and must never block deleting one.
 */
export const costLog = sqliteTable(
  "cost_log",
  {
    id: text().primaryKey(),
    agentId: text().notNull(),
    taskId: text().references(() => tasks.id, { onDelete: "set null" }),
    model: text().notNull(),
    inputTokens: integer().notNull().default(0),
    outputTokens: integer().notNull().default(0),
    costUsd: real().notNull().default(0),
    createdAt: createdAt(),
  },
  (t) => [
    checkAtLeast("cost_log_input_tokens_check", t.inputTokens, 0),
    checkAtLeast("cost_log_output_tokens_check", t.outputTokens, 0),
    checkAtLeast("cost_log_cost_usd_check", t.costUsd, 0),
    // Daily token caps and spend alerts sum one agent's rows since UTC midnight.
    index("cost_log_agent_id_created_at_idx").on(t.agentId, t.createdAt),
    index("cost_log_created_at_idx").on(t.createdAt),
  ],
);
