import { z } from "zod";
import { ApprovalIdSchema, EscalationIdSchema } from "../ids";
import { defineRoute } from "../route";
import {
  ApprovalListResponseSchema,
  ApprovalResponseSchema,
  CreateApprovalBodySchema,
  DecideApprovalBodySchema,
  EscalationListResponseSchema,
  EscalationResponseSchema,
  ListApprovalsQuerySchema,
  ListEscalationsQuerySchema,
  ResolveEscalationBodySchema,
} from "../workflow-api";
import { SMALL_BODY_BYTES } from "./common";

export const ApprovalPathSchema = z.object({ id: ApprovalIdSchema });
export const EscalationPathSchema = z.object({ id: EscalationIdSchema });

export const requestApprovalRoute = defineRoute({
  id: "approvals.create",
  method: "POST",
  path: "/api/approvals",
  permission: "tasks:write",
  summary: "Ask an operator before acting (an agent)",
  description:
    "Only an agent asks: an agent token, or `X-M3shd-Agent` from a principal that may act for agents (403 otherwise). " +
    "Streamed as `approval_requested`; expires after `timeout_s` if nobody decides.",
  tags: ["approvals"],
  body: CreateApprovalBodySchema,
  bodyLimitBytes: 32 * 1024,
  responses: { 201: ApprovalResponseSchema },
  errors: [404],
});

export const listApprovalsRoute = defineRoute({
  id: "approvals.list",
  method: "GET",
  path: "/api/approvals",
  permission: "tasks:read",
  summary: "List approval requests, newest first",
  tags: ["approvals"],
  query: ListApprovalsQuerySchema,
  responses: { 200: ApprovalListResponseSchema },
});

export const getApprovalRoute = defineRoute({
  id: "approvals.get",
  method: "GET",
  path: "/api/approvals/:id",
  permission: "tasks:read",
  summary: "Get one approval request",
  tags: ["approvals"],
  params: ApprovalPathSchema,
  responses: { 200: ApprovalResponseSchema },
  errors: [404],
});

export const decideApprovalRoute = defineRoute({
  id: "approvals.decide",
  method: "PUT",
  path: "/api/approvals/:id",
  permission: "agents:write",
  summary: "Approve or reject a pending request (an operator)",
  description:
    "`agents:write`, which the worker preset lacks, so an agent can never approve its own request. " +
    "Only a pending request before its expiry can be decided (409).",
  tags: ["approvals"],
  params: ApprovalPathSchema,
  body: DecideApprovalBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 200: ApprovalResponseSchema },
  errors: [404, 409],
});

export const listEscalationsRoute = defineRoute({
  id: "escalations.list",
  method: "GET",
  path: "/api/escalations",
  permission: "agents:read",
  summary: "List escalations raised after agents' consecutive failures, newest first",
  tags: ["escalations"],
  query: ListEscalationsQuerySchema,
  responses: { 200: EscalationListResponseSchema },
});

export const getEscalationRoute = defineRoute({
  id: "escalations.get",
  method: "GET",
  path: "/api/escalations/:id",
  permission: "agents:read",
  summary: "Get one escalation",
  tags: ["escalations"],
  params: EscalationPathSchema,
  responses: { 200: EscalationResponseSchema },
  errors: [404],
});

export const resolveEscalationRoute = defineRoute({
  id: "escalations.resolve",
  method: "PUT",
  path: "/api/escalations/:id",
  permission: "agents:write",
  summary: "Resolve an open escalation",
  tags: ["escalations"],
  params: EscalationPathSchema,
  body: ResolveEscalationBodySchema,
  bodyLimitBytes: SMALL_BODY_BYTES,
  responses: { 200: EscalationResponseSchema },
  errors: [404, 409],
});

/** Approvals (an agent asks, an operator decides) and escalations. */
export const APPROVAL_ROUTES = [
  requestApprovalRoute,
  listApprovalsRoute,
  getApprovalRoute,
  decideApprovalRoute,
  listEscalationsRoute,
  getEscalationRoute,
  resolveEscalationRoute,
] as const;
