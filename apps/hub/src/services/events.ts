/** Publishes a mesh event with the hub's clock: the lifecycle module's, so hub and dispatcher stamp alike. */
export { emitEvent as emit } from "@m3shd/lifecycle";
