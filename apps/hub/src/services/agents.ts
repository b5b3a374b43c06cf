import {
  type Agent as AgentRow,
  acknowledgeCancelNotices,
  closeOutage,
  countActiveTasksByAgent,
  getAgent as dbGetAgent,
  listAgents as dbListAgents,
  listCancelNotices,
  toApiAgent,
  updateAgent,
  upsertAgent,
} from "@m3shd/db";
import {
  type Agent,
  type HeartbeatBody,
  type HeartbeatResponse,
  LIMITS,
  NotFoundError,
  type RegisterAgentBody,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import { emit } from "./events";

function requireAgent(ctx: HubContext, id: string): AgentRow {
  const row = dbGetAgent(ctx.database.db, id);
  if (!row) throw new NotFoundError("agent", id);
  return row;
}

/** One agent with live slot usage and liveness. */
export async function getAgent(ctx: HubContext, id: string): Promise<Agent> {
  const row = requireAgent(ctx, id);
  const active = countActiveTasksByAgent(ctx.database.db, [id]).get(id) ?? 0;
  return toApiAgent(row, { activeTasks: active, lastSeen: await ctx.queue.liveness.lastSeen(id) });
}

/** Every agent, ordered by id. */
export async function listAgents(ctx: HubContext): Promise<Agent[]> {
  const rows = dbListAgents(ctx.database.db);
  const active = countActiveTasksByAgent(ctx.database.db);
  const seen = await ctx.queue.liveness.all();
  return rows.map((r) =>
    toApiAgent(r, { activeTasks: active.get(r.id) ?? 0, lastSeen: seen.get(r.id) ?? null }),
  );
}

/**
 * `POST /api/agents/:id/register`: idempotent. A new agent, or one coming back from `offline`, is
 * announced with `agent_online` — the dispatcher listens for it and retries queued work.
 */
export async function registerAgent(ctx: HubContext, id: string, body: RegisterAgentBody): Promise<Agent> {
  const now = ctx.now();
  const before = dbGetAgent(ctx.database.db, id);
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
): Promise<{ status: Agent["status"]; known: boolean }> {
  const now = ctx.now();
  const row = dbGetAgent(ctx.database.db, id);
  if (!row) return { status: "offline", known: false };
  await ctx.queue.liveness.touch(id, now);
  const loadChanged =
    report?.load_avg !== undefined && Math.abs((row.loadAvg ?? -1) - report.load_avg) >= 0.05;
  const reportedChanged = report !== undefined && report.active_tasks !== row.activeTasks;
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
      },
      expect: { status: ["offline"] },
      now,
    });
    await emit(ctx, "agent_online", { agent: await getAgent(ctx, id) });
    return { status, known: true };
  }
  if (loadChanged || reportedChanged) {
    updateAgent(ctx.database.db, {
      id,
      set: {
        ...(report ? { activeTasks: report.active_tasks } : {}),
        ...(report?.load_avg !== undefined ? { loadAvg: report.load_avg } : {}),
      },
      now,
    });
  }
  return { status: row.status, known: true };
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
