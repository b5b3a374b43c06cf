import type { HubApp, RouteDeps } from "../types";
import { registerAgentSettingsRoutes } from "./agent-settings";
import { registerAnalyticsRoutes } from "./analytics";
import { registerApprovalRoutes } from "./approvals";
import { registerEscalationRoutes } from "./escalations";
import { registerMessageRoutes } from "./messages";
import { registerPipelineRoutes } from "./pipelines";
import { registerSharedContextRoutes } from "./shared-context";
import { registerTemplateRoutes } from "./templates";

/** Every route of the workflows feature (see docs/workflows.md for the permission table). */
export function registerWorkflowRoutes(app: HubApp, deps: RouteDeps) {
  registerPipelineRoutes(app, deps);
  registerTemplateRoutes(app, deps);
  registerSharedContextRoutes(app, deps);
  registerMessageRoutes(app, deps);
  registerApprovalRoutes(app, deps);
  registerEscalationRoutes(app, deps);
  registerAgentSettingsRoutes(app, deps);
  registerAnalyticsRoutes(app, deps);
}
