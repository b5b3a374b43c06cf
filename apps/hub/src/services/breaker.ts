import { type Executor, getAgent, recordCapabilityOutcome, updateAgent } from "@m3shd/db";
import type { BreakerState, MeshEventData } from "@m3shd/protocol";

/** Consecutive failures that open an agent's breaker. */
export const BREAKER_FAILURE_THRESHOLD = 3;

/**
 * Counts one outcome for the agent's capability record (UCB input) and moves its circuit breaker:
 * a success closes it and resets the counters; a failure counts, opens a closed breaker at the
 * threshold, and re-opens a half-open one (its probe failed). Returns the breaker transition to
 * announce, or null when the state did not change.
 */
export function recordOutcome(
  db: Executor,
  input: { agentId: string; capability: string; success: boolean; now: number },
): MeshEventData<"agent_breaker"> | null {
  return db.transaction(
    (tx) => {
      recordCapabilityOutcome(tx, input);
      const agent = getAgent(tx, input.agentId);
      if (!agent) return null;
      const from: BreakerState = agent.breakerState;
      if (input.success) {
        updateAgent(tx, {
          id: agent.id,
          set: { breakerState: "closed", breakerFailures: 0, breakerOpenedAt: null, consecutiveFailures: 0 },
          now: input.now,
        });
        return from === "closed" ? null : { agent_id: agent.id, from, to: "closed", failures: 0 };
      }
      const failures = agent.breakerFailures + 1;
      let to: BreakerState = from;
      if (from === "half_open" || (from === "closed" && failures >= BREAKER_FAILURE_THRESHOLD)) to = "open";
      updateAgent(tx, {
        id: agent.id,
        set: {
          breakerFailures: failures,
          consecutiveFailures: agent.consecutiveFailures + 1,
          ...(to !== from ? { breakerState: to, breakerOpenedAt: input.now } : {}),
        },
        now: input.now,
      });
      return to === from ? null : { agent_id: agent.id, from, to, failures };
    },
    { behavior: "immediate" },
  );
}
