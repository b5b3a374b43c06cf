export {
  Counter,
  createMetricsRegistry,
  Gauge,
  Histogram,
  httpMetrics,
  type JobObservation,
  LATENCY_BUCKETS,
  type MetricsServer,
  metricOnce,
  type ObservableQueue,
  PROMETHEUS_CONTENT_TYPE,
  Registry,
  registerQueueMetrics,
  serveMetrics,
} from "./metrics";
export { envFlag, MeshStorageEnvShape, onShutdown, parseEnv, secretsFromFiles } from "./process";
export {
  type DescribedHandler,
  ROUTE_DESCRIPTOR,
  registeredDescriptors,
  registerForward,
  registerRoute,
} from "./route";
export { loadOrCreateSecret } from "./secret-file";
export { jsonBody, jsonNestingDepth, MAX_JSON_DEPTH, pathParams, queryParams } from "./validate";
