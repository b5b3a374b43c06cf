import { describe, expect } from "vitest";
import { NotFoundError } from "../errors";
import { dbTest, seedTaskInStatus, T0 } from "../test-fixture";
import { appendChunk, listChunks } from "./chunks";

describe("chunks", () => {
  dbTest("seq counts up from 0 per task", ({ database: { db } }) => {
    const a = seedTaskInStatus(db, "running");
    const b = seedTaskInStatus(db, "running");
    expect(appendChunk(db, { taskId: a.id, content: "a1", now: T0 })).toEqual({
      taskId: a.id,
      seq: 0,
      content: "a1",
      createdAt: T0,
    });
    expect(appendChunk(db, { taskId: a.id, content: "a2", now: T0 + 1 }).seq).toBe(1);
    expect(appendChunk(db, { taskId: b.id, content: "b1", now: T0 + 2 }).seq).toBe(0);
    expect(appendChunk(db, { taskId: a.id, content: "a3", now: T0 + 3 }).seq).toBe(2);
    expect(listChunks(db, { taskId: a.id }).map((chunk) => chunk.content)).toEqual(["a1", "a2", "a3"]);
    expect(listChunks(db, { taskId: a.id, afterSeq: 0 }).map((chunk) => chunk.seq)).toEqual([1, 2]);
    expect(listChunks(db, { taskId: a.id, limit: 1 }).map((chunk) => chunk.seq)).toEqual([0]);
    expect(listChunks(db, { taskId: "none" })).toEqual([]);
  });

  dbTest("appending to a missing task is NotFoundError", ({ database: { db } }) => {
    expect(() => appendChunk(db, { taskId: "ghost", content: "x", now: T0 })).toThrow(NotFoundError);
  });
});
