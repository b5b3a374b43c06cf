/*
 * The memory API's wire schemas live in @m3shd/protocol (with its route descriptors,
 * `MEMORY_ROUTES`); re-exported here for the service's own modules and its package users.
 */
export {
  ConsolidateBodySchema,
  ConsolidateResponseSchema,
  CrossAgentSearchQuerySchema,
  DeleteMemoryResponseSchema,
  ListMemoryQuerySchema,
  ListMemoryResponseSchema,
  MemoryAgentParamSchema,
  MemoryEntrySchema,
  type MemoryEntryWire,
  MemoryHealthResponseSchema,
  MemoryKeyParamSchema,
  MemoryPrincipalWireSchema,
  type RecallBody,
  RecallBodySchema,
  RecallResponseSchema,
  SearchMemoryQuerySchema,
  SearchMemoryResponseSchema,
  type StoreMemoryBody,
  StoreMemoryBodySchema,
  StoreMemoryResponseSchema,
} from "@m3shd/protocol";
