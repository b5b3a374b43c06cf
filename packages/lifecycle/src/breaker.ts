import { type Executor, getAgent, recordCapabilityOutcome, updateAgent } from "@m3shd/db";
import type { BreakerState, MeshEventData } from "@m3shd/protocol";

/**
 * An agent's circuit breaker, every transition of it in one place:
 *
 *   closed ──(3 consecutive failures)──▶ open ──(cool-down passed, probe claimed)──▶ half_open
 *   half_open ──(probe succeeds)──▶ closed      half_open ──(probe fails)──▶ open
 *
 * The hub moves it on outcomes (`recordOutcome`), the dispatcher reads it (`effectiveBreaker`,
 * `breakerAdmits`) and claims the single half-open probe (`claimProbe`).
 */

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

/** What the breaker functions need to know about an agent. */
export interface BreakerView {
  breakerState: BreakerState;
  breakerOpenedAt: number | null;
  activeTasks: number;
}

/**
 * The breaker as the dispatcher must treat it now. An `open` breaker whose cool-down has passed
 * is `half_open`: it may take exactly one probe task, and only while it has nothing in flight
 * (the probe is the only task it holds until its outcome closes or re-opens the breaker).
 */
export function effectiveBreaker(
  agent: Pick<BreakerView, "breakerState" | "breakerOpenedAt">,
  now: number,
  cooldownMs: number,
): BreakerState {
  if (agent.breakerState === "open") {
    return agent.breakerOpenedAt !== null && now - agent.breakerOpenedAt >= cooldownMs ? "half_open" : "open";
  }
  return agent.breakerState;
}

/** Whether the breaker lets a new task through now. */
export function breakerAdmits(agent: BreakerView, now: number, cooldownMs: number): boolean {
  const state = effectiveBreaker(agent, now, cooldownMs);
  if (state === "closed") return true;
  if (state === "half_open") return agent.activeTasks === 0; // the single probe
  return false;
}

/**
 * `open → half_open` as a conditional update, so of two dispatchers racing for an agent whose
 * cool-down passed exactly one sends the probe. Returns the transition to announce, or null when
 * another writer moved the breaker first.
 */
export function claimProbe(
  tx: Executor,
  input: { agentId: string; failures: number; now: number },
): MeshEventData<"agent_breaker"> | null {
  const claimed = updateAgent(tx, {
    id: input.agentId,
    set: { breakerState: "half_open" },
    expect: { breakerState: ["open"] },
    now: input.now,
  });
  return claimed.changed
    ? { agent_id: input.agentId, from: "open", to: "half_open", failures: input.failures }
    : null;
}
