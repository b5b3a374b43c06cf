import { bindAgentTokenCapabilities } from "@m3shd/db";
import { heartbeatRoute, LIMITS, NotFoundError, nextTaskRoute, registerAgentRoute } from "@m3shd/protocol";
import { actingAgent, principalOf } from "../middleware/auth";
import { heartbeat, markPollLost, registerAgent, touchAgent } from "../services/agents";
import { claimNextTask } from "../services/tasks";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** The worker contract: register, heartbeat, long-poll for the next task. */
export function registerWorkerRoutes(app: HubApp, { ctx, authenticate, waiters }: RouteDeps) {
  handle(app, registerAgentRoute, authenticate, async (c, { params, body }) => {
    const agentId = actingAgent(c, params.id) as string;
    const principal = principalOf(c);
    let allowed = principal.capabilities ?? null;
    // An agent token minted without a binding is bound by its first registration: the capabilities
    // declared then are all it may ever register (trust on first use), so a leaked worker token
    // cannot later re-register its agent for other kinds of work.
    if (principal.kind === "agent" && allowed === null && principal.credentialId)
      allowed = bindAgentTokenCapabilities(ctx.database.db, {
        id: principal.credentialId,
        capabilities: body.capabilities,
      });
    return { status: 200, body: { agent: await registerAgent(ctx, agentId, body, allowed) } };
  });

  handle(app, heartbeatRoute, authenticate, async (c, { params, body }) => {
    const agentId = actingAgent(c, params.id) as string;
    return { status: 200, body: await heartbeat(ctx, agentId, body) };
  });

  /**
   * Long-poll: answers with the agent's next assigned task the moment the dispatcher assigns it
   * (woken by the `task_assigned` event), or 204 after `wait` seconds. The waiter is armed before
   * the database is checked, so an assignment landing in between still wakes it.
   */
  handle(app, nextTaskRoute, authenticate, async (c, { params, query }) => {
    const agentId = actingAgent(c, params.id) as string;
    const { wait } = query;
    const { known } = await touchAgent(ctx, agentId, undefined, true);
    if (!known) throw new NotFoundError("agent", agentId);
    const deadline =
      Date.now() + Math.min(wait * 1000, ctx.config.longPollMaxMs, LIMITS.longPollMaxSeconds * 1000);
    const signal = c.req.raw.signal;
    for (;;) {
      const remaining = deadline - Date.now();
      const waiter = remaining > 0 ? waiters.arm(agentId, remaining, signal) : null;
      const claimed = await claimNextTask(ctx, agentId);
      if (claimed) {
        waiter?.cancel();
        return { status: 200, body: claimed };
      }
      if (!waiter) break;
      const woken = await waiter.promise;
      if (!woken && (Date.now() >= deadline || signal.aborted || waiters.closed)) break;
    }
    // The worker hung up before its answer (not our shutdown, and no newer poll of it open here).
    if (signal.aborted && !waiters.closed && waiters.count(agentId) === 0) {
      markPollLost(ctx, agentId);
      return { status: 204 };
    }
    await ctx.queue.liveness.touch(agentId, ctx.now());
    return { status: 204 };
  });
}
