/**
 * @m3shd/memory — agent memory: encrypted store, blind-index search, `[REMEMBER]` extraction,
 * pickup-time recall, consolidation, key rotation and recovery. See README.md and docs/memory.md.
 */
export { createMemoryApp, type MemoryApp, type MemoryAppDeps, SERVICE_TOKEN_MIN_CHARS } from "./app";
export {
  createHttpMemoryClient,
  createInProcessMemoryClient,
  type HttpMemoryClientOptions,
  type InProcessMemoryClientOptions,
  type MemoryClient,
  type RecallOutcome,
} from "./client";
export {
  CONSOLIDATION_TAG,
  type ConsolidationOptions,
  type ConsolidationResult,
  PATTERN_SCOPE,
} from "./consolidate";
export { generateKek, type KekInput, parseKek } from "./crypto/kek";
export { generateRecoveryKeyPair } from "./crypto/recovery";
export { MEMORY_FILE_SECRETS } from "./env";
export { type MalformedReason, parseRememberBlocks } from "./extract";
export { encodePrincipal, type MemoryPrincipal, PRINCIPAL_HEADER, type PrincipalLike } from "./http/auth";
export type { KekStatus, KeyStatus } from "./keys";
export { MEMORY_LIMITS } from "./limits";
export { MEMORY_BLOCK_CLOSE, MEMORY_BLOCK_OPEN } from "./recall";
export * from "./schemas";
export { loadMemorySecrets, type MemorySecrets, memorySecretPaths } from "./secrets";
export {
  createMemoryService,
  type ExtractInput,
  type ExtractResult,
  type ListInput,
  type ListResult,
  type MemoryEntry,
  type MemoryService,
  type MemoryServiceOptions,
  type RecallInput,
  type RecallResult,
  type RecoverInput,
  type RotateInput,
  type RotationResult,
  type SearchInput,
  type SearchResult,
  type StoreInput,
  type StoreResult,
} from "./service";
export {
  DEFAULT_CONSOLIDATE_EVERY_MS,
  type JobDoneEvent,
  type MemoryWorkersOptions,
  startMemoryWorkers,
} from "./workers";
