import { and, eq } from "drizzle-orm";
import { ConflictError } from "../errors";
import { taskIdempotency } from "../schema";
import type { Executor } from "../types";
import { insertDependentTask } from "./dag";
import { getTask, type InsertTaskInput, type Task } from "./tasks";

export interface IdempotentInsert {
  createdBy: string;
  key: string;
  requestHash: string;
  insert: InsertTaskInput;
}

/**
 * Inserts a task under an idempotency key, or returns the task already created under it.
 * Lookup, insert and key are one IMMEDIATE transaction, so two concurrent retries (even from two
 * hub processes on one database) create one task. A key reused with a different request is a
 * `ConflictError` (409): silently answering with an unrelated task would hide a client bug.
 */
export function insertTaskIdempotent(
  db: Executor,
  input: IdempotentInsert,
): { task: Task; replayed: boolean } {
  return db.transaction(
    (tx) => {
      const found = tx
        .select()
        .from(taskIdempotency)
        .where(and(eq(taskIdempotency.createdBy, input.createdBy), eq(taskIdempotency.key, input.key)))
        .get();
      if (found) {
        if (found.requestHash !== input.requestHash) {
          throw new ConflictError("idempotency_key was already used for a different request", {
            idempotency_key: input.key,
          });
        }
        const task = getTask(tx, found.taskId);
        if (task) return { task, replayed: true };
        // The task was deleted: the key is free again (the row cascaded away already, or goes now).
        tx.delete(taskIdempotency)
          .where(and(eq(taskIdempotency.createdBy, input.createdBy), eq(taskIdempotency.key, input.key)))
          .run();
      }
      const task = insertDependentTask(tx, input.insert);
      tx.insert(taskIdempotency)
        .values({
          createdBy: input.createdBy,
          key: input.key,
          taskId: task.id,
          requestHash: input.requestHash,
          createdAt: input.insert.now,
        })
        .run();
      return { task, replayed: false };
    },
    { behavior: "immediate" },
  );
}
