import {
  decideApprovalRoute,
  ForbiddenError,
  getApprovalRoute,
  listApprovalsRoute,
  requestApprovalRoute,
} from "@m3shd/protocol";
import { actingAgent, principalOf } from "../middleware/auth";
import { decideApproval, getApprovalById, listApprovals, requestApproval } from "../services/approvals";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/**
 * Approvals: an agent asks (`tasks:write`, acting as itself), an operator decides (`agents:write`,
 * which the worker preset lacks, so an agent can never approve its own request).
 */
export function registerApprovalRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, requestApprovalRoute, authenticate, async (c, { body }) => {
    const agentId = actingAgent(c);
    if (!agentId) {
      throw new ForbiddenError("Only an agent requests approval (agent token or X-M3shd-Agent header)");
    }
    return { status: 201, body: { approval: await requestApproval(ctx, agentId, body) } };
  });

  handle(app, listApprovalsRoute, authenticate, (_c, { query }) => ({
    status: 200,
    body: listApprovals(ctx, query),
  }));

  handle(app, getApprovalRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: { approval: getApprovalById(ctx, params.id) },
  }));

  handle(app, decideApprovalRoute, authenticate, async (c, { params, body }) => ({
    status: 200,
    body: { approval: await decideApproval(ctx, params.id, body, principalOf(c).subject) },
  }));
}
