import {
  type Agent,
  type DailyUsage,
  DailyUsageTracker,
  effectiveTokenCap,
  type OpenedDatabase,
} from "@m3shd/db";

/**
 * Today's token usage per agent, for the daily caps: the dispatcher refuses new work to an agent
 * at its cap, the hub raises the budget alert on the completion that crosses it and shows the
 * totals. One incremental tracker per database handle in this process (hub and dispatcher share
 * it in the embedded mesh).
 *
 * Invariant: the tracker holds committed rows only. Outside a transaction a read catches it up;
 * inside one (the completion recording its cost) it peeks — the transaction's own rows count for
 * that answer but are never kept, so a rollback leaves nothing behind.
 */
const trackers = new WeakMap<object, DailyUsageTracker>();

function trackerOf(database: OpenedDatabase): DailyUsageTracker {
  let tracker = trackers.get(database);
  if (!tracker) {
    tracker = new DailyUsageTracker();
    trackers.set(database, tracker);
  }
  return tracker;
}

/** A reader of today's (UTC) usage per agent as the connection sees it now (one catch-up for all). */
function usageReader(database: OpenedDatabase, now: number): (agentId: string) => DailyUsage {
  const tracker = trackerOf(database);
  if (database.sqlite.inTransaction) return (agentId) => tracker.peek(database.db, agentId, now);
  tracker.refresh(database.db, now);
  return (agentId) => tracker.get(agentId);
}

/** The agent's tokens and spend today (UTC) as the connection sees them now. */
export function dailyUsage(database: OpenedDatabase, agentId: string, now: number): DailyUsage {
  return usageReader(database, now)(agentId);
}

/** The agents among `agents` that are at or over their daily token cap now. */
export function agentsOverBudget(
  database: OpenedDatabase,
  agents: readonly Pick<Agent, "id" | "dailyTokenCap">[],
  defaultCap: number,
  now: number,
): Set<string> {
  const over = new Set<string>();
  if (agents.length === 0) return over;
  const usage = usageReader(database, now);
  for (const agent of agents) {
    const cap = effectiveTokenCap(agent.dailyTokenCap, defaultCap);
    if (cap !== null && usage(agent.id).tokens >= cap) over.add(agent.id);
  }
  return over;
}
