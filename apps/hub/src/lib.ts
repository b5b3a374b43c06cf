export { type CreateHubOptions, createHub, type Hub } from "./app";
export {
  type AuthConfig,
  type ContributionConfig,
  contributionFromEnv,
  DEFAULT_AUTH_CONFIG,
  DEFAULT_CONTRIBUTION_CONFIG,
  DEFAULT_HUB_CONFIG,
  type HubConfig,
  type HubContext,
  type MemorySettings,
  seededRandom,
} from "./context";
export { defaultDashboardDir } from "./dashboard-dir";
export { type HubEnv, HubEnvSchema, interpreterFromEnv, parseHubEnv } from "./env";
export { StreamHub, Subscriber } from "./events/stream-hub";
export { Waiters } from "./events/waiters";
export {
  type Authenticator,
  actingAgent,
  authorize,
  CSRF_HEADER,
  chainAuthenticators,
  masterAuthenticator,
  type Principal,
  principalOf,
  ROUTE_PERMISSION,
  type RoutePermission,
} from "./middleware/auth";
export { type PluginsConfig, pluginsFromEnv } from "./plugins/config";
export {
  type HookContext,
  type HookHandler,
  type PluginApi,
  PluginManager,
  type PluginModule,
  type ToolCallContext,
  type ToolDefinition,
  ToolError,
} from "./plugins/manager";
export { type HubSecrets, loadHubSecrets } from "./secrets";
export { type ServedHub, serveHub } from "./server";
export {
  checkProbability,
  decideValidation,
  HUB_VALIDATOR,
  ledgerEntryHash,
  recordContribution,
  updateStreak,
} from "./services/contribution";
export { USER_ROLE_PERMISSIONS } from "./services/permissions";
export { SEED_ADMIN_PASSWORD_FILE, SEED_ADMIN_USERNAME } from "./services/users";
export {
  DEFAULT_WORKFLOWS_CONFIG,
  type NtfyConfig,
  type WorkflowsConfig,
  workflowsFromEnv,
} from "./services/workflow-config";
