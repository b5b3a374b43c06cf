import {
  type Executor,
  effectiveTokenCap,
  getAgent,
  insertCostRecord,
  updateAgent,
  utcDayKey,
} from "@m3shd/db";
import { dailyUsage } from "@m3shd/lifecycle";
import {
  type AgentSettings,
  type AlertJob,
  budgetAlert,
  NotFoundError,
  newId,
  type UpdateAgentSettingsBody,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import { audited } from "./audit";
import { workflowsOf } from "./workflow-config";

/**
 * Costs and budgets, hub side: every completion that reports usage writes a `cost_log` row, and the
 * row that carries an agent over its daily token cap or spend threshold raises the budget alert.
 * The cap itself is enforced by the dispatcher, at assignment time.
 */

/**
 * Records one completion's usage. Must run inside the completion's IMMEDIATE transaction: holding
 * the write lock, "before" is exact, so exactly one row per agent per UTC day crosses the
 * threshold, and the alert is raised once without any extra bookkeeping. The usage is peeked, not
 * cached: if the transaction rolls back, this process remembers nothing of it.
 */
export function recordCost(
  tx: Executor,
  ctx: HubContext,
  input: {
    agentId: string;
    taskId: string;
    model: string;
    inputTokens: number;
    outputTokens: number;
    costUsd: number;
    now: number;
  },
): AlertJob | null {
  const config = workflowsOf(ctx);
  const before = dailyUsage(ctx.database, input.agentId, input.now);
  insertCostRecord(tx, { id: newId("cost"), ...input });
  const after = {
    tokens: before.tokens + input.inputTokens + input.outputTokens,
    costUsd: before.costUsd + input.costUsd,
  };
  const cap = effectiveTokenCap(getAgent(tx, input.agentId)?.dailyTokenCap, config.dailyTokenCap);
  const spend = config.spendAlertUsd;
  const over = (u: { tokens: number; costUsd: number }) =>
    (cap !== null && u.tokens >= cap) || (spend !== null && u.costUsd >= spend);
  if (over(before) || !over(after)) return null;
  return budgetAlert({
    agentId: input.agentId,
    day: utcDayKey(input.now),
    tokens: after.tokens,
    tokenCap: cap,
    costUsd: after.costUsd,
    spendThresholdUsd: spend,
  });
}

/** `GET /api/agents/:id/settings`. */
export function getAgentSettings(ctx: HubContext, agentId: string): AgentSettings {
  const db = ctx.database.db;
  const agent = getAgent(db, agentId);
  if (!agent) throw new NotFoundError("agent", agentId);
  const usage = dailyUsage(ctx.database, agentId, ctx.now());
  const cap = effectiveTokenCap(agent.dailyTokenCap, workflowsOf(ctx).dailyTokenCap);
  return {
    agent_id: agent.id,
    escalation_target: agent.escalationTarget,
    daily_token_cap: agent.dailyTokenCap,
    effective_daily_token_cap: cap,
    tokens_today: usage.tokens,
    cost_today_usd: usage.costUsd,
    over_cap: cap !== null && usage.tokens >= cap,
  };
}

/** `PUT /api/agents/:id/settings`. */
export function updateAgentSettings(
  ctx: HubContext,
  agentId: string,
  body: UpdateAgentSettingsBody,
): AgentSettings {
  const db = ctx.database.db;
  if (!getAgent(db, agentId)) throw new NotFoundError("agent", agentId);
  audited(
    ctx,
    "agent.settings_update",
    (tx) =>
      updateAgent(tx, {
        id: agentId,
        set: {
          ...(body.escalation_target !== undefined ? { escalationTarget: body.escalation_target } : {}),
          ...(body.daily_token_cap !== undefined ? { dailyTokenCap: body.daily_token_cap } : {}),
        },
        now: ctx.now(),
      }),
    () => agentId,
  );
  return getAgentSettings(ctx, agentId);
}
