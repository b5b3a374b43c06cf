export type {
  CallOptions,
  Client,
  ClientCore,
  ClientOptions,
  FetchLike,
  MeshEventsOptions,
  NextTaskOptions,
  RouteCall,
  RouteMethod,
  RouteNamespaces,
  SseEventOf,
  SubscribeCall,
} from "./client";
export { createClient, meshStreamRoute } from "./client";
export type { ClientError, HubError, HubErrorInfo } from "./errors";
export {
  BadResponseError,
  errorFromResponse,
  HubUnreachableError,
  isHubError,
  isTransientError,
} from "./errors";
export type { RetryOptions } from "./retry";
export { backoffDelay, DEFAULT_RETRY, IDEMPOTENT_METHODS, parseRetryAfter } from "./retry";
export type { ConnectionState, EventStream, ReconnectOptions, SseFrame, SubscribeOptions } from "./sse";
export { readSseFrames } from "./sse";
