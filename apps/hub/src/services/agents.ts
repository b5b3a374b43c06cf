import {
  type Agent as AgentRow,
  acknowledgeCancelNotices,
  closeOutage,
  countActiveTasksByAgent,
  getAgent as dbGetAgent,
  listAgents as dbListAgents,
  markPollLost as dbMarkPollLost,
  listCancelNotices,
  toApiAgent,
  updateAgent,
  upsertAgent,
} from "@m3shd/db";
import { reclaimHeldTasks } from "@m3shd/lifecycle";
import {
  type Agent,
  ForbiddenError,
  type HeartbeatBody,
  type HeartbeatResponse,
  LIMITS,
  NotFoundError,
  type RegisterAgentBody,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import { bindNodeKeyAtRegistration, nodeKeySummaries } from "./contribution";
import { emit } from "./events";
import { workflowsOf } from "./workflow-config";

function requireAgent(ctx: HubContext, id: string): AgentRow {
  const row = dbGetAgent(ctx.database.db, id);
  if (!row) throw new NotFoundError("agent", id);
  return row;
}

/** One agent with live slot usage and liveness. */
export async function getAgent(ctx: HubContext, id: string): Promise<Agent> {
  const row = requireAgent(ctx, id);
  const active = countActiveTasksByAgent(ctx.database.db, [id]).get(id) ?? 0;
  const nodeKey = nodeKeySummaries(ctx, [id])(id);
  return {
    ...toApiAgent(row, { activeTasks: active, lastSeen: await ctx.queue.liveness.lastSeen(id) }),
    node_key: nodeKey,
  };
}

/** Every agent, ordered by id. */
export async function listAgents(ctx: HubContext): Promise<Agent[]> {
  const rows = dbListAgents(ctx.database.db);
  const active = countActiveTasksByAgent(ctx.database.db);
  const seen = await ctx.queue.liveness.all();
  const keyOf = nodeKeySummaries(ctx);
  return rows.map((r) => ({
    ...toApiAgent(r, { activeTasks: active.get(r.id) ?? 0, lastSeen: seen.get(r.id) ?? null }),
    node_key: keyOf(r.id),
  }));
}

/**
 * `POST /api/agents/:id/register`: idempotent. A new agent, or one coming back from `offline`, is
 * announced with `agent_online` — the dispatcher listens for it and retries queued work.
 */
export async function registerAgent(
  ctx: HubContext,
  id: string,
  body: RegisterAgentBody,
  /** The registering credential's capability binding (an agent token's); null: unbound. */
  allowed: readonly string[] | null = null,
): Promise<Agent> {
  // A token bound to capabilities cannot widen them by re-registering: that is what stops a leaked
  // worker token from being used to pull work of every other kind.
  if (allowed) {
    const beyond = body.capabilities.filter((c) => !allowed.includes(c));
    if (beyond.length > 0)
      throw new ForbiddenError(`This token may not register capabilities: ${beyond.join(", ")}`, {
        capabilities: beyond,
        allowed,
      });
  }
  // The node's signing key: bound on first use, and required from then on (403 otherwise).
  bindNodeKeyAtRegistration(ctx, id, body.public_key);
  const now = ctx.now();
  const before = dbGetAgent(ctx.database.db, id);
  // Another worker process than the one that registered last: that one is gone (a restart under
  // the same id), so the tasks it held go back to the queue now, not at the zombie timeout. Its
  // late writes, if it was not dead after all, are refused by the attempt fencing.
  const restarted =
    body.instance_id !== undefined &&
    typeof before?.instanceId === "string" &&
    before.instanceId !== body.instance_id;
  const requeued = restarted ? await reclaimHeldTasks(ctx, workflowsOf(ctx), id, "restarted") : [];
  if (requeued.length > 0)
    ctx.logger.info(
      { agentId: id, requeued: requeued.length },
      "agent restarted: its earlier instance's tasks requeued",
    );
  const active = countActiveTasksByAgent(ctx.database.db, [id]).get(id) ?? 0;
  const status = active >= body.max_concurrent ? "busy" : "online";
  upsertAgent(ctx.database.db, {
    id,
    name: body.name ?? before?.name ?? id,
    ...(body.machine !== undefined ? { machine: body.machine } : {}),
    capabilities: body.capabilities,
    maxConcurrent: body.max_concurrent,
    ...(body.provider !== undefined ? { provider: body.provider } : {}),
    ...(body.model !== undefined ? { model: body.model } : {}),
    ...(body.meta !== undefined ? { meta: body.meta } : {}),
    allowedCapabilities: allowed ? [...allowed] : null,
    ...(body.instance_id !== undefined ? { instanceId: body.instance_id } : {}),
    status,
    now,
  });
  // Back from an outage (uptime analytics and the next "agent down" alert start from here).
  if (before?.status === "offline") closeOutage(ctx.database.db, { agentId: id, now });
  await ctx.queue.liveness.touch(id, now);
  const agent = await getAgent(ctx, id);
  // Announce on every registration: capabilities or slots may have changed, which is new capacity.
  await emit(ctx, "agent_online", { agent });
  return agent;
}

/**
 * Marks the agent alive. Cheap by design: the liveness store takes the timestamp; SQLite is
 * written only when the status or reported load actually changes. Returns the agent's status.
 */
export async function touchAgent(
  ctx: HubContext,
  id: string,
  report?: HeartbeatBody,
  /** A long-poll is opening: a lost poll recorded earlier is over, and the agent takes work again. */
  polling = false,
): Promise<{ status: Agent["status"]; known: boolean }> {
  const now = ctx.now();
  const row = dbGetAgent(ctx.database.db, id);
  if (!row) return { status: "offline", known: false };
  await ctx.queue.liveness.touch(id, now);
  if (polling && row.pollLostAt !== null && row.status !== "offline") {
    const { changed } = updateAgent(ctx.database.db, {
      id,
      set: { pollLostAt: null },
      expect: { status: [row.status] },
      now,
    });
    // Back to polling is capacity again: the dispatcher listens for this.
    if (changed) await emit(ctx, "agent_online", { agent: await getAgent(ctx, id) });
  }
  const loadChanged =
    report?.load_avg !== undefined && Math.abs((row.loadAvg ?? -1) - report.load_avg) >= 0.05;
  const reportedChanged = report !== undefined && report.active_tasks !== row.activeTasks;
  // Written only when it flips: the dispatcher reads it from the row (it may run in another process).
  const drainingChanged = report?.draining !== undefined && report.draining !== row.draining;
  const drainingSet = drainingChanged ? { draining: report?.draining === true } : {};
  if (row.status === "offline") {
    closeOutage(ctx.database.db, { agentId: id, now });
    const active = countActiveTasksByAgent(ctx.database.db, [id]).get(id) ?? 0;
    const status = active >= row.maxConcurrent ? "busy" : "online";
    updateAgent(ctx.database.db, {
      id,
      set: {
        status,
        lastSeenAt: now,
        ...(report ? { activeTasks: report.active_tasks } : {}),
        ...(report?.load_avg !== undefined ? { loadAvg: report.load_avg } : {}),
        ...drainingSet,
        ...(polling ? { pollLostAt: null } : {}),
      },
      expect: { status: ["offline"] },
      now,
    });
    await emit(ctx, "agent_online", { agent: await getAgent(ctx, id) });
    return { status, known: true };
  }
  if (loadChanged || reportedChanged || drainingChanged) {
    updateAgent(ctx.database.db, {
      id,
      set: {
        ...(report ? { activeTasks: report.active_tasks } : {}),
        ...(report?.load_avg !== undefined ? { loadAvg: report.load_avg } : {}),
        ...drainingSet,
      },
      now,
    });
    // No longer draining is new capacity: let the dispatcher look again.
    if (drainingChanged && report?.draining === false)
      await emit(ctx, "agent_online", { agent: await getAgent(ctx, id) });
  }
  return { status: row.status, known: true };
}

/**
 * The agent's long-poll connection closed before it was answered (the worker died, or its link
 * dropped) and no other poll of it is open here: until it polls again the dispatcher offers it no
 * work, so tasks stop going to a dead worker at once rather than at its offline timeout. Written
 * only when it changes.
 */
export function markPollLost(ctx: HubContext, id: string): void {
  dbMarkPollLost(ctx.database.db, id, ctx.now());
}

/** Default of `HubConfig.cancelNoticeTtlMs`. */
export const DEFAULT_CANCEL_NOTICE_TTL_MS = 10 * 60 * 1000;

/**
 * `POST /api/agents/:id/heartbeat`. The answer lists the agent's pending cancellation notices:
 * tasks cancelled while it held them, not yet acknowledged (`cancelled_ack` clears them first,
 * so a notice the worker has handled is not listed again) and younger than the notice TTL. A
 * notice is listed on every heartbeat until acknowledged, so a lost response loses nothing.
 */
export async function heartbeat(
  ctx: HubContext,
  id: string,
  body: HeartbeatBody,
): Promise<HeartbeatResponse> {
  const { status, known } = await touchAgent(ctx, id, body);
  if (!known) throw new NotFoundError("agent", id);
  const now = ctx.now();
  const db = ctx.database.db;
  if (body.cancelled_ack && body.cancelled_ack.length > 0) {
    acknowledgeCancelNotices(db, { agentId: id, taskIds: body.cancelled_ack });
  }
  const cancelled = listCancelNotices(db, {
    agentId: id,
    since: now - (ctx.config.cancelNoticeTtlMs ?? DEFAULT_CANCEL_NOTICE_TTL_MS),
    limit: LIMITS.cancelledNoticesMax,
  });
  return { ok: true as const, status, server_time: now, cancelled };
}
