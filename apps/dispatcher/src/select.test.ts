import { describe, expect, it } from "vitest";
import { breakerAdmits, type CandidateAgent, effectiveBreaker, selectAgent, ucbScore } from "./select";

const config = { exploration: 0.5, breakerCooldownMs: 60_000 };
const agent = (id: string, over: Partial<CandidateAgent> = {}): CandidateAgent => ({
  id,
  capabilities: ["code"],
  freeSlots: 1,
  activeTasks: 0,
  breakerState: "closed",
  breakerOpenedAt: null,
  ...over,
});

describe("ucbScore", () => {
  it("starts a new agent at the neutral prior plus the largest bonus", () => {
    expect(ucbScore({ successes: 0, failures: 0 }, 0, 0)).toBe(0.5);
    expect(ucbScore({ successes: 0, failures: 0 }, 10, 0.5)).toBeCloseTo(
      0.5 + 0.5 * Math.sqrt(Math.log(11)),
      10,
    );
  });
  it("rewards successes and shrinks the bonus with trials", () => {
    const good = ucbScore({ successes: 9, failures: 1 }, 20, 0.5);
    const bad = ucbScore({ successes: 1, failures: 9 }, 20, 0.5);
    expect(good).toBeGreaterThan(bad);
    expect(ucbScore({ successes: 50, failures: 0 }, 100, 0)).toBeCloseTo(51 / 52, 10);
  });
});

describe("selectAgent", () => {
  it("prefers the agent with the better record while still trying a new one", () => {
    const records = new Map([
      ["veteran", { successes: 20, failures: 0 }],
      ["poor", { successes: 2, failures: 18 }],
    ]);
    const agents = [agent("veteran"), agent("poor"), agent("newcomer")];
    // First: the newcomer's exploration bonus wins one trial.
    const first = selectAgent({ capability: "code", assignTo: null, agents, records, now: 0, config });
    expect(first.winner).toBe("newcomer");
    expect(first.candidates.map((c) => c.agent_id)).toEqual(["newcomer", "veteran", "poor"]);
    // The newcomer fails once: the veteran wins from then on, and the poor agent never.
    records.set("newcomer", { successes: 0, failures: 1 });
    const wins = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const pick = selectAgent({ capability: "code", assignTo: null, agents, records, now: 0, config });
      wins.set(pick.winner ?? "", (wins.get(pick.winner ?? "") ?? 0) + 1);
      const r = records.get(pick.winner ?? "") ?? { successes: 0, failures: 0 };
      records.set(pick.winner ?? "", { ...r, successes: r.successes + 1 });
    }
    expect(wins.get("veteran")).toBe(20);
    expect(wins.get("poor")).toBeUndefined();
  });

  it("only considers capable agents with a free slot and an admitting breaker", () => {
    const agents = [
      agent("full", { freeSlots: 0 }),
      agent("wrong", { capabilities: ["research"] }),
      agent("open", { breakerState: "open", breakerOpenedAt: 1000 }),
      agent("ok"),
    ];
    const pick = selectAgent({
      capability: "code",
      assignTo: null,
      agents,
      records: new Map(),
      now: 2000,
      config,
    });
    expect(pick.winner).toBe("ok");
    expect(pick.candidates.map((c) => c.agent_id)).toEqual(["ok"]);
    expect(
      selectAgent({
        capability: "code",
        assignTo: null,
        agents: agents.slice(0, 3),
        records: new Map(),
        now: 2000,
        config,
      }),
    ).toMatchObject({ winner: null, strategy: "none" });
  });

  it("honours assign_to when that agent can take the task, else falls back to UCB", () => {
    const agents = [agent("a"), agent("b", { freeSlots: 3 })];
    expect(
      selectAgent({ capability: "code", assignTo: "a", agents, records: new Map(), now: 0, config }),
    ).toMatchObject({
      winner: "a",
      strategy: "assign_to",
    });
    // Equal scores: more free slots wins the tie.
    expect(
      selectAgent({ capability: "code", assignTo: "gone", agents, records: new Map(), now: 0, config }),
    ).toMatchObject({
      winner: "b",
      strategy: "ucb",
    });
  });
});

describe("breaker", () => {
  it("becomes half-open after the cool-down and admits a single probe", () => {
    const open = agent("x", { breakerState: "open", breakerOpenedAt: 10_000 });
    expect(effectiveBreaker(open, 69_999, 60_000)).toBe("open");
    expect(effectiveBreaker(open, 70_000, 60_000)).toBe("half_open");
    expect(breakerAdmits(open, 69_999, 60_000)).toBe(false);
    expect(breakerAdmits(open, 70_000, 60_000)).toBe(true);
    expect(breakerAdmits({ ...open, breakerState: "half_open", activeTasks: 1 }, 70_000, 60_000)).toBe(false);
    expect(breakerAdmits(agent("y"), 0, 60_000)).toBe(true);
  });
});
