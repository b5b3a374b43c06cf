import { and, asc, eq, gt, max } from "drizzle-orm";
import { NotFoundError } from "../errors";
import { taskChunks } from "../schema";
import type { Executor } from "../types";
import { isSqliteConstraintError } from "./sqlite-errors";

export type TaskChunk = typeof taskChunks.$inferSelect;

/**
 * Append a streamed chunk with the next `seq` for its task (0, 1, 2 …, as protocol's `StreamChunk.seq`). The read of the current
 * maximum and the insert share an IMMEDIATE transaction, so concurrent appenders never collide.
 * Throws `NotFoundError` for an unknown task. Who may append (only the assigned agent, only while
 * running) is the hub's check.
 */
export function appendChunk(
  db: Executor,
  input: { taskId: string; content: string; now: number },
): TaskChunk {
  try {
    return db.transaction(
      (tx) => {
        const current = tx
          .select({ seq: max(taskChunks.seq) })
          .from(taskChunks)
          .where(eq(taskChunks.taskId, input.taskId))
          .get();
        return tx
          .insert(taskChunks)
          .values({
            taskId: input.taskId,
            seq: (current?.seq ?? -1) + 1,
            content: input.content,
            createdAt: input.now,
          })
          .returning()
          .get();
      },
      { behavior: "immediate" },
    );
  } catch (error) {
    if (isSqliteConstraintError(error, "SQLITE_CONSTRAINT_FOREIGNKEY"))
      throw new NotFoundError("task", input.taskId);
    throw error;
  }
}

/** A task's chunks in order, optionally only those after `afterSeq` (for resuming a stream). */
export function listChunks(
  db: Executor,
  input: { taskId: string; afterSeq?: number; limit?: number },
): TaskChunk[] {
  const query = db
    .select()
    .from(taskChunks)
    .where(and(eq(taskChunks.taskId, input.taskId), gt(taskChunks.seq, input.afterSeq ?? -1)))
    .orderBy(asc(taskChunks.seq));
  return input.limit === undefined ? query.all() : query.limit(Math.max(0, Math.trunc(input.limit))).all();
}
