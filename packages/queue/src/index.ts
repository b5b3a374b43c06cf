export * from "./bullmq-driver";
export * from "./bus";
export * from "./driver";
export * from "./jobs";
export * from "./liveness";
export * from "./memory-driver";
export * from "./mesh-events";
export * from "./runtime";
