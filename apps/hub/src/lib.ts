export { type CreateHubOptions, createHub, type Hub } from "./app";
export { DEFAULT_HUB_CONFIG, type HubConfig, type HubContext } from "./context";
export { type HubEnv, HubEnvSchema, parseHubEnv } from "./env";
export { StreamHub, Subscriber } from "./events/stream-hub";
export { Waiters } from "./events/waiters";
export {
  type Authenticator,
  actingAgent,
  authorize,
  chainAuthenticators,
  masterAuthenticator,
  type Principal,
  principalOf,
  ROUTE_PERMISSION,
  type RoutePermission,
} from "./middleware/auth";
export { type HubSecrets, loadHubSecrets, loadOrCreateSecret } from "./secrets";
export { type ServedHub, serveHub } from "./server";
