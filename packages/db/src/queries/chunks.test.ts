import { describe, expect } from "vitest";
import { NotFoundError } from "../errors";
import { dbTest, seedTaskInStatus, T0 } from "../test-fixture";
import { appendChunk, hasChunk, listChunks } from "./chunks";

describe("chunks", () => {
  dbTest("seq counts up from 0 per task", ({ database: { db } }) => {
    const a = seedTaskInStatus(db, "running");
    const b = seedTaskInStatus(db, "running");
    expect(appendChunk(db, { taskId: a.id, attempt: 1, content: "a1", now: T0 })).toEqual({
      taskId: a.id,
      attempt: 1,
      seq: 0,
      content: "a1",
      createdAt: T0,
    });
    expect(appendChunk(db, { taskId: a.id, attempt: 1, content: "a2", now: T0 + 1 }).seq).toBe(1);
    expect(appendChunk(db, { taskId: b.id, attempt: 1, content: "b1", now: T0 + 2 }).seq).toBe(0);
    expect(appendChunk(db, { taskId: a.id, attempt: 1, content: "a3", now: T0 + 3 }).seq).toBe(2);
    expect(listChunks(db, { taskId: a.id }).map((chunk) => chunk.content)).toEqual(["a1", "a2", "a3"]);
    expect(listChunks(db, { taskId: a.id, afterSeq: 0 }).map((chunk) => chunk.seq)).toEqual([1, 2]);
    expect(listChunks(db, { taskId: a.id, limit: 1 }).map((chunk) => chunk.seq)).toEqual([0]);
    expect(listChunks(db, { taskId: "none" })).toEqual([]);
  });

  dbTest(
    "seq restarts per attempt; every attempt's chunks are kept and listed in order",
    ({ database: { db } }) => {
      const a = seedTaskInStatus(db, "running");
      appendChunk(db, { taskId: a.id, attempt: 1, content: "first-0", now: T0 });
      appendChunk(db, { taskId: a.id, attempt: 1, content: "first-1", now: T0 + 1 });
      expect(appendChunk(db, { taskId: a.id, attempt: 2, content: "second-0", now: T0 + 2 }).seq).toBe(0);
      expect(listChunks(db, { taskId: a.id }).map((c) => [c.attempt, c.seq, c.content])).toEqual([
        [1, 0, "first-0"],
        [1, 1, "first-1"],
        [2, 0, "second-0"],
      ]);
      expect(listChunks(db, { taskId: a.id, attempt: 2 }).map((c) => c.content)).toEqual(["second-0"]);
      expect(listChunks(db, { taskId: a.id, attempt: 1, afterSeq: 0 }).map((c) => c.content)).toEqual([
        "first-1",
      ]);
      expect(hasChunk(db, { taskId: a.id, attempt: 2, seq: 0 })).toBe(true);
      expect(hasChunk(db, { taskId: a.id, attempt: 2, seq: 1 })).toBe(false);
    },
  );

  dbTest("appending to a missing task is NotFoundError", ({ database: { db } }) => {
    expect(() => appendChunk(db, { taskId: "ghost", attempt: 1, content: "x", now: T0 })).toThrow(
      NotFoundError,
    );
  });
});
