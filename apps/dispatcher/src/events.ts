import type { MeshEventData, MeshEventType } from "@m3shd/protocol";
import { publishMeshEvent } from "@m3shd/queue";
import type { DispatcherContext } from "./context";

/** Publishes a mesh event with the dispatcher's clock. */
export function emit<T extends MeshEventType>(ctx: DispatcherContext, type: T, data: MeshEventData<T>) {
  return publishMeshEvent(ctx.queue.bus, type, data, ctx.now());
}
