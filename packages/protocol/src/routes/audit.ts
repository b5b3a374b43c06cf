import { defineRoute } from "../route";
import { AuditListResponseSchema, AuditQuerySchema } from "../security";

export const listAuditRoute = defineRoute({
  id: "audit.list",
  method: "GET",
  path: "/api/audit",
  permission: "admin:users",
  summary: "The audit log, newest first",
  description:
    "Who did what from which address: user administration data, so `admin:users` (the admin preset and role only).",
  tags: ["audit"],
  query: AuditQuerySchema,
  responses: { 200: AuditListResponseSchema },
});

export const AUDIT_ROUTES = [listAuditRoute] as const;
