import type { Hono } from "hono";
import type { HubContext } from "./context";
import type { StreamHub } from "./events/stream-hub";
import type { Waiters } from "./events/waiters";
import type { HubMetrics } from "./metrics";
import type { Authenticator, Principal } from "./middleware/auth";
import type { PluginManager } from "./plugins/manager";

/** Hono environment of the hub: per-request variables set by middleware. */
export interface HubEnv {
  Variables: { principal: Principal; requestId: string };
}

export type HubApp = Hono<HubEnv>;

/** What route modules receive. */
export interface RouteDeps {
  ctx: HubContext;
  authenticate: Authenticator;
  streamHub: StreamHub;
  waiters: Waiters;
  metrics: HubMetrics;
  plugins: PluginManager;
}
