import type { MemoryEntryWire } from "../schemas";
import type { MemoryEntry } from "../store";

/** A memory entry as it goes on the wire. */
export function toWireEntry(entry: MemoryEntry): MemoryEntryWire {
  return {
    id: entry.id,
    agent_id: entry.agentId,
    key: entry.key,
    value: entry.value,
    tags: entry.tags,
    confidence: entry.confidence,
    source_task_id: entry.sourceTaskId,
    created_at: entry.createdAt,
    updated_at: entry.updatedAt,
  };
}
