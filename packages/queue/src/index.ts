export * from "./driver";
export * from "./memory-driver";
export * from "./bullmq-driver";
export * from "./bus";
export * from "./liveness";
export * from "./runtime";
export * from "./jobs";
export * from "./mesh-events";
