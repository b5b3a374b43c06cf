export { onShutdown, parseEnv } from "./process";
export {
  type DescribedHandler,
  ROUTE_DESCRIPTOR,
  registeredDescriptors,
  registerForward,
  registerRoute,
} from "./route";
export { loadOrCreateSecret } from "./secret-file";
export { jsonBody, pathParams, queryParams } from "./validate";
