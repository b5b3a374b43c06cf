export {
  BREAKER_FAILURE_THRESHOLD,
  type BreakerView,
  breakerAdmits,
  claimProbe,
  effectiveBreaker,
  recordOutcome,
} from "./breaker";
export {
  announceRequeue,
  emitEvent,
  enqueueAlerts,
  type LifecyclePorts,
  publishSettlement,
  settle,
} from "./effects";
export { type ReclaimPorts, reclaimHeldTasks, reclaimTask } from "./reclaim";
export {
  DEFAULT_LIFECYCLE_SETTINGS,
  type LifecycleEnv,
  LifecycleEnvSchema,
  LifecycleEnvShape,
  type LifecycleSettings,
  lifecycleSettingsFromEnv,
} from "./settings";
export { agentsOverBudget, dailyUsage } from "./usage";
