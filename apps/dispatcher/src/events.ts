/** Publishes a mesh event with the dispatcher's clock: the lifecycle module's, as the hub does. */
export { emitEvent as emit } from "@m3shd/lifecycle";
