import { breakerAdmits, effectiveBreaker } from "@m3shd/lifecycle";
import type { BreakerState } from "@m3shd/protocol";

/** Tunables of agent selection. */
export interface SelectionConfig {
  /** UCB exploration weight `c` (default 0.5). 0 = pure exploitation. */
  exploration: number;
  /** Breaker cool-down: an open breaker lets one probe through after this long (default 60 s). */
  breakerCooldownMs: number;
}

export const DEFAULT_SELECTION: SelectionConfig = { exploration: 0.5, breakerCooldownMs: 60_000 };

/** What selection needs to know about one agent at the moment of the decision. */
export interface CandidateAgent {
  id: string;
  capabilities: readonly string[];
  freeSlots: number;
  activeTasks: number;
  breakerState: BreakerState;
  breakerOpenedAt: number | null;
}

/** Per-agent record for one capability. */
export interface CapabilityRecord {
  successes: number;
  failures: number;
}

// The breaker's rules (cool-down, the single half-open probe) are the lifecycle module's.
export { breakerAdmits, effectiveBreaker };

/**
 * UCB1 with a Beta(1,1) prior:
 *
 *   score = (s + 1) / (n + 2)  +  c · sqrt( ln(N + 1) / (n + 1) )
 *
 * where s, n are this agent's successes and trials for the capability and N is the trials of all
 * candidates. A new agent starts at mean 0.5 (neutral) with the largest exploration bonus, so it
 * gets tried; each trial shrinks its bonus, so a poor record stops attracting work while a good
 * one keeps winning. The +1 terms keep the score finite for n = 0 and N = 0.
 */
export function ucbScore(record: CapabilityRecord, totalTrials: number, exploration: number): number {
  const n = record.successes + record.failures;
  const mean = (record.successes + 1) / (n + 2);
  return mean + exploration * Math.sqrt(Math.log(totalTrials + 1) / (n + 1));
}

export interface ScoredCandidate {
  agent_id: string;
  score: number;
  free_slots: number;
  breaker: BreakerState;
  successes: number;
  failures: number;
}

export interface Selection {
  winner: string | null;
  candidates: ScoredCandidate[];
  strategy: "assign_to" | "ucb" | "none";
}

/**
 * Picks the agent for one task. `assignTo` is honoured when that agent can take the task now;
 * otherwise the capable, admitted agent with the best UCB score wins, ties going to more free
 * slots, then to the smaller id (deterministic). Returns every candidate considered with its score
 * so the decision can be explained.
 */
export function selectAgent(input: {
  capability: string;
  assignTo: string | null;
  agents: readonly CandidateAgent[];
  records: ReadonlyMap<string, CapabilityRecord>;
  now: number;
  config: SelectionConfig;
}): Selection {
  const { capability, assignTo, agents, records, now, config } = input;
  const eligible = agents.filter(
    (a) =>
      a.freeSlots > 0 &&
      a.capabilities.includes(capability) &&
      breakerAdmits(a, now, config.breakerCooldownMs),
  );
  let totalTrials = 0;
  for (const a of eligible) {
    const r = records.get(a.id);
    if (r) totalTrials += r.successes + r.failures;
  }
  const candidates: ScoredCandidate[] = eligible.map((a) => {
    const r = records.get(a.id) ?? { successes: 0, failures: 0 };
    return {
      agent_id: a.id,
      score: ucbScore(r, totalTrials, config.exploration),
      free_slots: a.freeSlots,
      breaker: effectiveBreaker(a, now, config.breakerCooldownMs),
      successes: r.successes,
      failures: r.failures,
    };
  });
  candidates.sort(
    (x, y) => y.score - x.score || y.free_slots - x.free_slots || (x.agent_id < y.agent_id ? -1 : 1),
  );
  if (assignTo && candidates.some((c) => c.agent_id === assignTo)) {
    return { winner: assignTo, candidates, strategy: "assign_to" };
  }
  const first = candidates[0];
  return first
    ? { winner: first.agent_id, candidates, strategy: "ucb" }
    : { winner: null, candidates, strategy: "none" };
}
