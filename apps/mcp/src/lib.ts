export * from "./await";
export * from "./client-port";
export * from "./errors";
export * from "./port";
export * from "./resources";
export * from "./server";
export * from "./tasks-adapter";
export * from "./tools";
