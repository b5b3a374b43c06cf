import { listAuditRoute } from "@m3shd/protocol";
import { queryAudit } from "../services/audit";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/**
 * `GET /api/audit` — the audit log, newest first. Under `admin:users` (only the admin preset and
 * role hold it): the log shows who did what from which address, which is user administration data.
 */
export function registerAuditRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, listAuditRoute, authenticate, (_c, { query }) => ({
    status: 200,
    body: queryAudit(ctx, query),
  }));
}
