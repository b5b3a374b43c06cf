export { envFlag, MeshStorageEnvShape, onShutdown, parseEnv } from "./process";
export { loadOrCreateSecret } from "./secret-file";
export { jsonBody, pathParams, queryParams } from "./validate";
