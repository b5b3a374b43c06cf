import { queryParams } from "@m3shd/service-kit";
import { authorize } from "../middleware/auth";
import { AuditQuerySchema } from "../schemas/security";
import { queryAudit } from "../services/audit";
import type { HubApp, RouteDeps } from "../types";

/**
 * `GET /api/audit` — the audit log, newest first. Under `admin:users` (only the admin preset and
 * role hold it): the log shows who did what from which address, which is user administration data.
 */
export function registerAuditRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.get("/api/audit", authorize("admin:users", authenticate), queryParams(AuditQuerySchema), (c) =>
    c.json(queryAudit(ctx, c.req.valid("query"))),
  );
}
