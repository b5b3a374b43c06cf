import type { QueueRuntime } from "@m3shd/queue";
import { type Logger, pino } from "pino";
import type { ConsolidationResult } from "./consolidate";
import type { ExtractResult, MemoryService } from "./service";

/** Default consolidation interval: once a day. */
export const DEFAULT_CONSOLIDATE_EVERY_MS = 24 * 60 * 60 * 1000;

export interface MemoryWorkersOptions {
  /** How often `memory.consolidate` runs for every agent; 0 disables the schedule. Default 24 h. */
  consolidateEveryMs?: number;
  /** Extraction jobs handled at once (default 1: SQLite has one writer anyway). */
  extractConcurrency?: number;
  logger?: Logger;
  /** Called after each job (tests wait on it instead of sleeping; metrics can count it). */
  onJobDone?: (event: JobDoneEvent) => void;
}

export type JobDoneEvent =
  | { name: "memory.extract"; taskId: string; agentId: string; result: ExtractResult | null }
  | { name: "memory.consolidate"; agentId: string | null; result: ConsolidationResult };

/**
 * Consumes `memory.extract` and `memory.consolidate` on the given queue runtime (BullMQ or
 * in-process) and declares the consolidation schedule. Both consumers are idempotent: extraction
 * upserts (a redelivered job finds every block `unchanged`) and consolidation converges.
 */
export async function startMemoryWorkers(
  queue: QueueRuntime,
  service: MemoryService,
  options: MemoryWorkersOptions = {},
): Promise<{ consolidateEveryMs: number }> {
  const logger = options.logger ?? pino({ level: "silent" });
  const everyMs = options.consolidateEveryMs ?? DEFAULT_CONSOLIDATE_EVERY_MS;

  queue.jobs.consume(
    "memory.extract",
    async (payload) => {
      if (payload.output === undefined) {
        // The hub always sends the output inline; the memory service cannot read the hub's database.
        logger.warn(
          { taskId: payload.taskId, agentId: payload.agentId },
          "memory.extract without output; skipped",
        );
        options.onJobDone?.({
          name: "memory.extract",
          taskId: payload.taskId,
          agentId: payload.agentId,
          result: null,
        });
        return;
      }
      const result = service.extract({
        taskId: payload.taskId,
        agentId: payload.agentId,
        output: payload.output,
      });
      options.onJobDone?.({
        name: "memory.extract",
        taskId: payload.taskId,
        agentId: payload.agentId,
        result,
      });
    },
    { concurrency: Math.max(1, options.extractConcurrency ?? 1) },
  );

  queue.jobs.consume("memory.consolidate", async (payload) => {
    const result = await service.consolidate({ agentId: payload.agentId });
    options.onJobDone?.({ name: "memory.consolidate", agentId: payload.agentId ?? null, result });
  });

  if (everyMs > 0) {
    // One named schedule: re-declaring it on every start (or from several memory processes) replaces
    // it instead of adding another, and a run that overlaps another is harmless (idempotent).
    await queue.jobs.schedule("memory.consolidate", "nightly", everyMs, {});
  }
  logger.info({ queue: queue.driver.kind, consolidateEveryMs: everyMs }, "memory workers started");
  return { consolidateEveryMs: everyMs };
}
