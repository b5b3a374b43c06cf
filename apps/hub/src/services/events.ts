import type { MeshEventData, MeshEventType } from "@m3shd/protocol";
import { publishMeshEvent } from "@m3shd/queue";
import type { HubContext } from "../context";

/** Publishes a mesh event with the hub's clock (see `publishMeshEvent` for the ordering rule). */
export function emit<T extends MeshEventType>(ctx: HubContext, type: T, data: MeshEventData<T>) {
  return publishMeshEvent(ctx.queue.bus, type, data, ctx.now());
}
