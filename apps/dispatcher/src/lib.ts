export { type PassResult, runDispatchPass } from "./assign";
export { DEFAULT_DISPATCHER_CONFIG, type DispatcherConfig, type DispatcherContext } from "./context";
export { createDispatcher, type Dispatcher } from "./dispatcher";
export { type DispatcherEnv, DispatcherEnvSchema, dispatcherConfigFromEnv, parseDispatcherEnv } from "./env";
export {
  breakerAdmits,
  type CandidateAgent,
  type CapabilityRecord,
  DEFAULT_SELECTION,
  effectiveBreaker,
  type SelectionConfig,
  selectAgent,
  ucbScore,
} from "./select";
export { reclaimTask, sweepDeadlines, sweepHeartbeats, sweepZombies, urgencyFor } from "./sweepers";
