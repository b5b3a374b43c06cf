import type { RouteDef } from "../route";
import { AGENT_ROUTES } from "./agents";
import { ANALYTICS_ROUTES } from "./analytics";
import { APPROVAL_ROUTES } from "./approvals";
import { AUDIT_ROUTES } from "./audit";
import { AUTH_ROUTES } from "./auth";
import { AUTH_ME_ROUTES } from "./auth-me";
import { CONTEXT_ROUTES } from "./context";
import { CONTRIBUTION_ROUTES } from "./contribution";
import { DASHBOARD_ROUTES } from "./dashboard";
import { DEMO_ROUTES } from "./demo";
import { DOCS_ROUTES } from "./docs";
import { HEALTH_ROUTES } from "./health";
import { KEY_ROUTES } from "./keys";
import { MEMORY_API_ROUTES } from "./memory";
import { MESSAGE_ROUTES } from "./messages";
import { PIPELINE_ROUTES } from "./pipelines";
import { PLUGIN_ROUTES } from "./plugins";
import { PROVENANCE_ROUTES } from "./provenance";
import { STREAM_ROUTES } from "./stream";
import { TASK_ROUTES } from "./tasks";
import { TEMPLATE_ROUTES } from "./templates";
import { TOKEN_ROUTES } from "./tokens";
import { USER_ROUTES } from "./users";
import { WEBHOOK_ROUTES } from "./webhooks";

export * from "./agents";
export * from "./analytics";
export * from "./approvals";
export * from "./audit";
export * from "./auth";
export * from "./auth-me";
export * from "./common";
export * from "./context";
export * from "./contribution";
export * from "./dashboard";
export * from "./demo";
export * from "./docs";
export * from "./health";
export * from "./keys";
export * from "./memory";
export * from "./messages";
export * from "./pipelines";
export * from "./plugins";
export * from "./provenance";
export * from "./stream";
export * from "./tasks";
export * from "./templates";
export * from "./tokens";
export * from "./users";
export * from "./webhooks";

/**
 * Every route the hub serves. The hub registers exactly these (a test compares them with the
 * app's routes), the OpenAPI document lists exactly these, and `@m3shd/client` is typed by them.
 */
export const HUB_ROUTES = [
  ...HEALTH_ROUTES,
  ...TASK_ROUTES,
  ...AGENT_ROUTES,
  ...PIPELINE_ROUTES,
  ...PROVENANCE_ROUTES,
  ...CONTRIBUTION_ROUTES,
  ...STREAM_ROUTES,
  ...TEMPLATE_ROUTES,
  ...CONTEXT_ROUTES,
  ...MESSAGE_ROUTES,
  ...APPROVAL_ROUTES,
  ...ANALYTICS_ROUTES,
  ...MEMORY_API_ROUTES,
  ...TOKEN_ROUTES,
  ...KEY_ROUTES,
  ...USER_ROUTES,
  ...AUTH_ROUTES,
  ...AUTH_ME_ROUTES,
  ...AUDIT_ROUTES,
  ...DOCS_ROUTES,
  ...DASHBOARD_ROUTES,
  ...DEMO_ROUTES,
  ...WEBHOOK_ROUTES,
  ...PLUGIN_ROUTES,
] as const satisfies readonly RouteDef[];

/** A hub route's descriptor id, e.g. `tasks.create`. */
export type HubRouteId = (typeof HUB_ROUTES)[number]["id"];
