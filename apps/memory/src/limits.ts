/** The memory service's input limits are part of its contract: they live in @m3shd/protocol. */
export { MEMORY_LIMITS } from "@m3shd/protocol";
