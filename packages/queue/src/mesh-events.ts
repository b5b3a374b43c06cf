import {
  createMeshEvent,
  type MeshEventData,
  type MeshEventOf,
  type MeshEventType,
  newId,
} from "@m3shd/protocol";
import type { EventBus } from "./bus";

/**
 * Publishes a typed mesh event. Every producer (hub, dispatcher, memory…) goes through the bus, and
 * SSE subscribers receive events from the bus only, so all of them see one order: the bus's.
 */
export async function publishMeshEvent<T extends MeshEventType>(
  bus: EventBus,
  type: T,
  data: MeshEventData<T>,
  ts: number,
): Promise<MeshEventOf<T>> {
  const event = createMeshEvent(type, data, { id: newId("evt"), ts });
  await bus.publish(event);
  return event;
}
