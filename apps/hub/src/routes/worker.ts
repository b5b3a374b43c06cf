import {
  AgentIdSchema,
  HeartbeatBodySchema,
  LIMITS,
  NextTaskQuerySchema,
  NotFoundError,
  RegisterAgentBodySchema,
} from "@m3shd/protocol";
import { jsonBody, pathParams, queryParams } from "@m3shd/service-kit";
import { z } from "zod";
import { actingAgent, authorize } from "../middleware/auth";
import { heartbeat, registerAgent, touchAgent } from "../services/agents";
import { claimNextTask } from "../services/tasks";
import type { HubApp, RouteDeps } from "../types";

const AgentPath = z.object({ id: AgentIdSchema });
const SMALL_BODY = 64 * 1024;

/** The worker contract: register, heartbeat, long-poll for the next task. */
export function registerWorkerRoutes(app: HubApp, { ctx, authenticate, waiters }: RouteDeps) {
  app.post(
    "/api/agents/:id/register",
    authorize("tasks:read", authenticate),
    pathParams(AgentPath),
    ...jsonBody(RegisterAgentBodySchema, SMALL_BODY),
    async (c) => {
      const agentId = actingAgent(c, c.req.valid("param").id) as string;
      return c.json({ agent: await registerAgent(ctx, agentId, c.req.valid("json")) });
    },
  );

  app.post(
    "/api/agents/:id/heartbeat",
    authorize("tasks:read", authenticate),
    pathParams(AgentPath),
    ...jsonBody(HeartbeatBodySchema, SMALL_BODY),
    async (c) => {
      const agentId = actingAgent(c, c.req.valid("param").id) as string;
      return c.json(await heartbeat(ctx, agentId, c.req.valid("json")));
    },
  );

  /**
   * Long-poll: answers with the agent's next assigned task the moment the dispatcher assigns it
   * (woken by the `task_assigned` event), or 204 after `wait` seconds. The waiter is armed before
   * the database is checked, so an assignment landing in between still wakes it.
   */
  app.get(
    "/api/agents/:id/tasks/next",
    authorize("tasks:read", authenticate),
    pathParams(AgentPath),
    queryParams(NextTaskQuerySchema),
    async (c) => {
      const agentId = actingAgent(c, c.req.valid("param").id) as string;
      const { wait } = c.req.valid("query");
      const { known } = await touchAgent(ctx, agentId);
      if (!known) throw new NotFoundError("agent", agentId);
      const deadline =
        Date.now() + Math.min(wait * 1000, ctx.config.longPollMaxMs, LIMITS.longPollMaxSeconds * 1000);
      const signal = c.req.raw.signal;
      for (;;) {
        const remaining = deadline - Date.now();
        const waiter = remaining > 0 ? waiters.arm(agentId, remaining, signal) : null;
        const task = await claimNextTask(ctx, agentId);
        if (task) {
          waiter?.cancel();
          return c.json({ task });
        }
        if (!waiter) break;
        const woken = await waiter.promise;
        if (!woken && (Date.now() >= deadline || signal.aborted || waiters.closed)) break;
      }
      await ctx.queue.liveness.touch(agentId, ctx.now());
      return c.body(null, 204);
    },
  );
}
