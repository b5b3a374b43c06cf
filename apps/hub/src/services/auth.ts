import type { HubContext } from "../context";
import { type Authenticator, chainAuthenticators, masterAuthenticator } from "../middleware/auth";
import { apiKeyAuthenticator } from "./api-keys";
import type { HubLimits } from "./limits";
import { sessionAuthenticator } from "./sessions";
import { agentTokenAuthenticator } from "./tokens";

/**
 * The hub's default credential chain, tried in this order: master token, agent token
 * (`m3shd_ag_…`), API key (`m3shd_key_…`) — all bearer tokens — then, only when the request carries
 * no bearer token at all, the session cookie.
 */
export function createDefaultAuthenticator(ctx: HubContext, limits: HubLimits): Authenticator {
  return chainAuthenticators(
    masterAuthenticator(ctx.config.masterToken),
    agentTokenAuthenticator(ctx),
    apiKeyAuthenticator(ctx, limits),
    sessionAuthenticator(ctx),
  );
}
