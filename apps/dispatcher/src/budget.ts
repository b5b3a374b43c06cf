import { type Agent, DailyUsageTracker, effectiveTokenCap } from "@m3shd/db";
import type { DispatcherContext } from "./context";

/**
 * Daily token caps, enforced at dispatch: an agent whose tokens today (UTC) have reached its cap
 * is not a candidate for new work until the day rolls over. Today's usage comes from an
 * incremental tracker over `cost_log` (it reads only the rows added since the previous pass), so
 * the check adds O(new completions) to a pass, never O(today's history) or O(backlog).
 */
const trackers = new WeakMap<object, DailyUsageTracker>();

/** The agents among `agents` that are at or over their daily token cap now. */
export function agentsOverBudget(
  ctx: DispatcherContext,
  agents: readonly Pick<Agent, "id" | "dailyTokenCap">[],
): Set<string> {
  const over = new Set<string>();
  if (agents.length === 0) return over;
  let tracker = trackers.get(ctx.database);
  if (!tracker) {
    tracker = new DailyUsageTracker();
    trackers.set(ctx.database, tracker);
  }
  tracker.refresh(ctx.database.db, ctx.now());
  for (const agent of agents) {
    const cap = effectiveTokenCap(agent.dailyTokenCap, ctx.config.dailyTokenCap);
    if (cap !== null && tracker.get(agent.id).tokens >= cap) over.add(agent.id);
  }
  return over;
}
