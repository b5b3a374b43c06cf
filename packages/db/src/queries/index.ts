export * from "./agents";
export * from "./capability-stats";
export * from "./chunks";
export * from "./provenance";
export * from "./tasks";
export * from "./transition-task";
