import { and, asc, eq, gt, max, type SQL } from "drizzle-orm";
import { NotFoundError } from "../errors";
import { taskChunks } from "../schema";
import type { Executor } from "../types";
import { isSqliteConstraintError } from "./sqlite-errors";

export type TaskChunk = typeof taskChunks.$inferSelect;

/**
 * Append a streamed chunk with the next `seq` of its attempt (0, 1, 2 …, as protocol's
 * `StreamChunk.seq`): numbering restarts with every attempt, so a retried attempt's chunks never
 * collide with (or are dropped as duplicates of) an earlier attempt's. The read of the current
 * maximum and the insert share an IMMEDIATE transaction, so concurrent appenders never collide.
 * Throws `NotFoundError` for an unknown task. Who may append (only the assigned agent, only while
 * running, only the current attempt) is the hub's check.
 */
export function appendChunk(
  db: Executor,
  input: { taskId: string; attempt: number; content: string; now: number },
): TaskChunk {
  const { attempt } = input;
  try {
    return db.transaction(
      (tx) => {
        const current = tx
          .select({ seq: max(taskChunks.seq) })
          .from(taskChunks)
          .where(and(eq(taskChunks.taskId, input.taskId), eq(taskChunks.attempt, attempt)))
          .get();
        return tx
          .insert(taskChunks)
          .values({
            taskId: input.taskId,
            attempt,
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

/** Whether the attempt already has a chunk at `seq` (a retried POST of a chunk the hub stored). */
export function hasChunk(db: Executor, input: { taskId: string; attempt: number; seq: number }): boolean {
  return (
    db
      .select({ seq: taskChunks.seq })
      .from(taskChunks)
      .where(
        and(
          eq(taskChunks.taskId, input.taskId),
          eq(taskChunks.attempt, input.attempt),
          eq(taskChunks.seq, input.seq),
        ),
      )
      .get() !== undefined
  );
}

/**
 * A task's chunks ordered by attempt, then seq. `attempt` keeps one attempt's; `afterSeq` keeps
 * those with a greater `seq` (within each attempt listed), for resuming a stream.
 */
export function listChunks(
  db: Executor,
  input: { taskId: string; attempt?: number; afterSeq?: number; limit?: number },
): TaskChunk[] {
  const where: SQL[] = [eq(taskChunks.taskId, input.taskId), gt(taskChunks.seq, input.afterSeq ?? -1)];
  if (input.attempt !== undefined) where.push(eq(taskChunks.attempt, input.attempt));
  const query = db
    .select()
    .from(taskChunks)
    .where(and(...where))
    .orderBy(asc(taskChunks.attempt), asc(taskChunks.seq));
  return input.limit === undefined ? query.all() : query.limit(Math.max(0, Math.trunc(input.limit))).all();
}
