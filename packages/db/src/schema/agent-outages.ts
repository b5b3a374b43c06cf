import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { columnRef, createdAt, epochMs } from "./columns";

/**
 * Availability history: one row per outage of an agent, from its last sign of life until it came
 * back (`ended_at` NULL while it is still down). Uptime analytics and the once-per-outage "agent
 * down" alert are computed from it. `agent_id` is deliberately not a foreign key (as in `cost_log`):
 * history outlives the agent row.
 */
export const agentOutages = sqliteTable(
  "agent_outages",
  {
    id: text().primaryKey(),
    agentId: text().notNull(),
    /** Last heartbeat or long-poll before the agent was declared offline (ms). */
    startedAt: integer().notNull(),
    /** When it registered or polled again; NULL while the outage lasts. */
    endedAt: epochMs(),
    createdAt: createdAt(),
  },
  (t) => [
    index("agent_outages_agent_id_started_at_idx").on(t.agentId, t.startedAt),
    // At most one open outage per agent: opening one is idempotent across sweepers.
    uniqueIndex("agent_outages_open_unique")
      .on(t.agentId)
      .where(sql`${columnRef(t.endedAt)} IS NULL`),
  ],
);
