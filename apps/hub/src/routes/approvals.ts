import {
  ApprovalIdSchema,
  CreateApprovalBodySchema,
  DecideApprovalBodySchema,
  ForbiddenError,
  ListApprovalsQuerySchema,
} from "@m3shd/protocol";
import { jsonBody, pathParams, queryParams } from "@m3shd/service-kit";
import { z } from "zod";
import { actingAgent, authorize, principalOf } from "../middleware/auth";
import { decideApproval, getApprovalById, listApprovals, requestApproval } from "../services/approvals";
import type { HubApp, RouteDeps } from "../types";

const ApprovalPath = z.object({ id: ApprovalIdSchema });

/**
 * Approvals: an agent asks (`tasks:write`, acting as itself), an operator decides (`agents:write`,
 * which the worker preset lacks, so an agent can never approve its own request).
 */
export function registerApprovalRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.post(
    "/api/approvals",
    authorize("tasks:write", authenticate),
    ...jsonBody(CreateApprovalBodySchema, 32 * 1024),
    async (c) => {
      const agentId = actingAgent(c);
      if (!agentId) {
        throw new ForbiddenError("Only an agent requests approval (agent token or X-M3shd-Agent header)");
      }
      return c.json({ approval: await requestApproval(ctx, agentId, c.req.valid("json")) }, 201);
    },
  );

  app.get(
    "/api/approvals",
    authorize("tasks:read", authenticate),
    queryParams(ListApprovalsQuerySchema),
    (c) => c.json(listApprovals(ctx, c.req.valid("query"))),
  );

  app.get("/api/approvals/:id", authorize("tasks:read", authenticate), pathParams(ApprovalPath), (c) =>
    c.json({ approval: getApprovalById(ctx, c.req.valid("param").id) }),
  );

  app.put(
    "/api/approvals/:id",
    authorize("agents:write", authenticate),
    pathParams(ApprovalPath),
    ...jsonBody(DecideApprovalBodySchema, 16 * 1024),
    async (c) =>
      c.json({
        approval: await decideApproval(
          ctx,
          c.req.valid("param").id,
          c.req.valid("json"),
          principalOf(c).subject,
        ),
      }),
  );
}
