import type { HubPort } from "./hub-port";

export interface HubClientConfig {
  baseUrl: string;
  token: string | undefined;
}

/**
 * The HubPort over `@m3shd/client`. Placeholder until that package is on main: the bridge does
 * not carry its own hand-written hub HTTP client. Returns null so `doctor` reports it.
 */
export function createHubPort(_config: HubClientConfig): HubPort | null {
  return null;
}
