import type { AgentStatus, BreakerState } from "@m3shd/protocol";
import { AGENT_STATUSES } from "@m3shd/protocol";
import { and, asc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { NotFoundError } from "../errors";
import { inJsonList, prepared } from "../prepared";
import { agents } from "../schema";
import type { Executor } from "../types";

export type Agent = typeof agents.$inferSelect;
export type NewAgent = typeof agents.$inferInsert;

export interface UpsertAgentInput {
  id: string;
  name: string;
  machine?: string;
  capabilities: string[];
  maxConcurrent: number;
  provider?: string | null;
  model?: string | null;
  meta?: Record<string, unknown>;
  escalationTarget?: string | null;
  dailyTokenCap?: number | null;
  /** The registering credential's capability binding; null: unbound. Undefined: unchanged. */
  allowedCapabilities?: string[] | null;
  /** The registering worker process's instance id; undefined: unchanged. */
  instanceId?: string | null;
  /** Status after registering; default `online`. */
  status?: AgentStatus;
  now: number;
}

/**
 * Register an agent, or refresh its advertised details if it is already known (idempotent
 * re-register). Breaker state, failure counters, `registered_at` and capability stats survive a
 * re-register; optional fields left undefined keep their stored values.
 */
export function upsertAgent(db: Executor, input: UpsertAgentInput): { agent: Agent; isNew: boolean } {
  const refreshed: Partial<NewAgent> = {
    name: input.name,
    capabilities: input.capabilities,
    maxConcurrent: input.maxConcurrent,
    status: input.status ?? "online",
    // A (re-)registration takes work until its next heartbeat says otherwise, and is about to poll.
    draining: false,
    pollLostAt: null,
    lastSeenAt: input.now,
    updatedAt: input.now,
  };
  if (input.machine !== undefined) refreshed.machine = input.machine;
  if (input.provider !== undefined) refreshed.provider = input.provider;
  if (input.model !== undefined) refreshed.model = input.model;
  if (input.meta !== undefined) refreshed.meta = input.meta;
  if (input.escalationTarget !== undefined) refreshed.escalationTarget = input.escalationTarget;
  if (input.dailyTokenCap !== undefined) refreshed.dailyTokenCap = input.dailyTokenCap;
  if (input.allowedCapabilities !== undefined) refreshed.allowedCapabilities = input.allowedCapabilities;
  if (input.instanceId !== undefined) refreshed.instanceId = input.instanceId;

  return db.transaction(
    (tx) => {
      const existing = tx.select({ id: agents.id }).from(agents).where(eq(agents.id, input.id)).get();
      if (existing) {
        const agent = tx.update(agents).set(refreshed).where(eq(agents.id, input.id)).returning().get();
        return { agent, isNew: false };
      }
      const agent = tx
        .insert(agents)
        .values({ ...refreshed, id: input.id, name: input.name, registeredAt: input.now })
        .returning()
        .get();
      return { agent, isNew: true };
    },
    { behavior: "immediate" },
  );
}

/** One agent by id, or undefined. */
export function getAgent(db: Executor, id: string): Agent | undefined {
  return prepared(db, "getAgent", () =>
    db
      .select()
      .from(agents)
      .where(eq(agents.id, sql.placeholder("id")))
      .prepare(),
  ).get({ id });
}

/** Agents ordered by id, optionally filtered by status(es) and an advertised capability. */
export function listAgents(
  db: Executor,
  input: { status?: AgentStatus | readonly AgentStatus[]; capability?: string } = {},
): Agent[] {
  const conditions: SQL[] = [];
  if (input.status !== undefined) {
    const statuses: readonly AgentStatus[] = typeof input.status === "string" ? [input.status] : input.status;
    if (input.capability === undefined) {
      // Every dispatch pass asks for the live agents: prepared, statuses bound as JSON.
      return prepared(db, "listAgents:status", () =>
        db
          .select()
          .from(agents)
          .where(inJsonList(agents.status, "statuses"))
          .orderBy(asc(agents.id))
          .prepare(),
      ).all({ statuses: JSON.stringify(statuses) });
    }
    conditions.push(inArray(agents.status, [...statuses]));
  }
  if (input.capability !== undefined) {
    conditions.push(
      sql`exists (select 1 from json_each(${agents.capabilities}) where value = ${input.capability})`,
    );
  }
  return db
    .select()
    .from(agents)
    .where(and(...conditions))
    .orderBy(asc(agents.id))
    .all();
}

/** Agent columns `updateAgent` may write (not the id or `registered_at`). */
export type AgentUpdateSet = Partial<Omit<NewAgent, "id" | "registeredAt" | "updatedAt">>;

export interface UpdateAgentInput {
  id: string;
  set: AgentUpdateSet;
  /**
   * Conditions the row must still meet for the update to apply (a conditional update): e.g.
   * `{ breakerState: ["open"] }` so that only one dispatcher claims a half-open probe.
   */
  expect?: { status?: readonly AgentStatus[]; breakerState?: readonly BreakerState[] };
  now: number;
}

/**
 * Conditionally update an agent. Returns the row as it now is and whether this call changed it
 * (`changed: false` when `expect` no longer held). Throws `NotFoundError` for an unknown id.
 */
export function updateAgent(db: Executor, input: UpdateAgentInput): { agent: Agent; changed: boolean } {
  const values: Record<string, unknown> = { ...input.set, updatedAt: input.now };
  const columns = Object.keys(values)
    .filter((c) => values[c] !== undefined)
    .sort();
  const expectStatus = input.expect?.status !== undefined;
  const expectBreaker = input.expect?.breakerState !== undefined;
  const update = prepared(db, `updateAgent:${columns.join(",")}:${expectStatus}:${expectBreaker}`, () => {
    const conditions: SQL[] = [eq(agents.id, sql.placeholder("id"))];
    if (expectStatus) conditions.push(inJsonList(agents.status, "expectStatus"));
    if (expectBreaker) conditions.push(inJsonList(agents.breakerState, "expectBreaker"));
    return db
      .update(agents)
      .set(Object.fromEntries(columns.map((c) => [c, sql.placeholder(`v_${c}`)])))
      .where(and(...conditions))
      .returning()
      .prepare();
  });
  const params: Record<string, unknown> = { id: input.id };
  for (const c of columns) params[`v_${c}`] = values[c];
  if (expectStatus) params.expectStatus = JSON.stringify(input.expect?.status);
  if (expectBreaker) params.expectBreaker = JSON.stringify(input.expect?.breakerState);
  return db.transaction(
    (tx) => {
      const updated = update.get(params);
      if (updated) return { agent: updated, changed: true };
      const current = getAgent(tx, input.id);
      if (!current) throw new NotFoundError("agent", input.id);
      return { agent: current, changed: false };
    },
    { behavior: "immediate" },
  );
}

/**
 * Records that the agent is not polling (its long-poll closed unanswered, or it let an assigned
 * task sit past the pickup timeout): the dispatcher offers it nothing until the hub clears the
 * mark on its next poll. Written only if not already set; returns whether it was.
 */
export function markPollLost(db: Executor, agentId: string, now: number): boolean {
  const updated = db
    .update(agents)
    .set({ pollLostAt: now, updatedAt: now })
    .where(and(eq(agents.id, agentId), sql`${agents.pollLostAt} IS NULL`))
    .returning({ id: agents.id })
    .all();
  return updated.length === 1;
}

/**
 * Set an agent's status, writing only when it actually changes (heartbeats call this on every beat;
 * `changed` tells the caller whether to emit `agent_online` / `agent_offline` / `agent_busy`).
 */
export function setAgentStatus(
  db: Executor,
  input: { id: string; status: AgentStatus; now: number },
): { agent: Agent; changed: boolean } {
  return updateAgent(db, {
    id: input.id,
    set: { status: input.status },
    expect: { status: AGENT_STATUSES.filter((status) => status !== input.status) },
    now: input.now,
  });
}
