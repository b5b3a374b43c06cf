export { onShutdown, parseEnv } from "./process";
export { loadOrCreateSecret } from "./secret-file";
export { jsonBody, jsonNestingDepth, MAX_JSON_DEPTH, pathParams, queryParams } from "./validate";
