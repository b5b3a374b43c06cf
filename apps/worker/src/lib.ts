export type { CliResult, WorkerConfig, WorkerConfigInput } from "./config";
export {
  ConfigError,
  loadWorkerConfig,
  parseDuration,
  parseWorkerConfig,
  usage,
  WorkerConfigSchema,
} from "./config";
export type { CompleteResponse, HeartbeatResponse, HubClientOptions, HubError } from "./hub-client";
export {
  BadResponseError,
  HubClient,
  HubUnreachableError,
  isHubError,
  isTransientHubError,
  withAttempt,
} from "./hub-client";
export { defaultIdentityPath, initIdentity, m3shdHome, signResult } from "./identity";
export type { SpoolEntry, SpoolRecord } from "./spool";
export { Spool, SpoolRecordSchema, spoolFileName } from "./spool";
export type { ChunkStreamerOptions, SendOutcome } from "./streamer";
export { ChunkStreamer } from "./streamer";
export type { PooledFetch } from "./transport";
export { createPooledFetch } from "./transport";
export type { WorkerDeps, WorkerHandle, WorkerStats } from "./worker";
export { startWorker, WORKER_VERSION } from "./worker";
