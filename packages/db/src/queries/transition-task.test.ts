import { join } from "node:path";
import { TASK_STATUSES, TASK_TRANSITIONS, type TaskStatus } from "@m3shd/protocol";
import { describe, expect } from "vitest";
import { openDatabase } from "../connection";
import { IllegalTransitionError, NotFoundError } from "../errors";
import { dbTest, seedAgent, seedTaskInStatus, T0, taskRow } from "../test-fixture";
import { getTask, insertTask } from "./tasks";
import { transitionTask } from "./transition-task";

const LEGAL: [TaskStatus, TaskStatus][] = TASK_STATUSES.flatMap((from) =>
  TASK_TRANSITIONS[from].map((to): [TaskStatus, TaskStatus] => [from, to]),
);
const ILLEGAL: [TaskStatus, TaskStatus][] = TASK_STATUSES.flatMap((from) =>
  TASK_STATUSES.filter((to) => !TASK_TRANSITIONS[from].includes(to)).map((to): [TaskStatus, TaskStatus] => [
    from,
    to,
  ]),
);

describe("transitionTask", () => {
  dbTest("every legal transition in the table succeeds", ({ database: { db } }) => {
    seedAgent(db);
    expect(LEGAL.length).toBeGreaterThan(10);
    for (const [from, to] of LEGAL) {
      const task = seedTaskInStatus(db, from);
      const now = T0 + 1000;
      const updated = transitionTask(db, {
        id: task.id,
        from,
        to,
        set: to === "assigned" ? { assignedTo: "agent-1" } : {},
        now,
      });
      expect(updated.status, `${from} → ${to}`).toBe(to);
      expect(updated.updatedAt).toBe(now);
      expect(getTask(db, task.id)?.status).toBe(to);
    }
  });

  dbTest("every illegal transition throws before touching the database", ({ database: { db } }) => {
    const task = seedTaskInStatus(db, "queued");
    for (const [from, to] of ILLEGAL) {
      // A missing id proves the table check ran first: otherwise this would be NotFoundError.
      expect(() => transitionTask(db, { id: "missing", from, to, now: T0 }), `${from} → ${to}`).toThrow(
        IllegalTransitionError,
      );
    }
    expect(() => transitionTask(db, { id: task.id, from: "queued", to: "done", now: T0 + 1 })).toThrow(
      expect.objectContaining({ code: "illegal_transition", from: "queued", to: "done" }),
    );
    expect(getTask(db, task.id)).toEqual(task);
  });

  dbTest("a list of `from` statuses is legal only if every member is", ({ database: { db } }) => {
    const task = seedTaskInStatus(db, "running");
    expect(() =>
      transitionTask(db, { id: task.id, from: ["running", "waiting"], to: "done", now: T0 }),
    ).toThrow(IllegalTransitionError);
    const requeued = transitionTask(db, {
      id: task.id,
      from: ["assigned", "running"],
      to: "queued",
      now: T0 + 5,
    });
    expect(requeued).toMatchObject({ status: "queued", assignedTo: null, assignedAt: null, startedAt: null });
  });

  dbTest("the conditional update loses a race: the second queued → assigned fails", ({ database, dbDir }) => {
    seedAgent(database.db, "agent-1");
    seedAgent(database.db, "agent-2");
    const task = seedTaskInStatus(database.db, "queued");
    // Two connections to the same file, as two dispatcher processes would have.
    const other = openDatabase({ path: join(dbDir, "m3shd.db") });
    try {
      const first = transitionTask(database.db, {
        id: task.id,
        from: "queued",
        to: "assigned",
        set: { assignedTo: "agent-1" },
        now: T0 + 1,
      });
      expect(first).toMatchObject({ status: "assigned", assignedTo: "agent-1", assignedAt: T0 + 1 });
      let lost: unknown;
      try {
        transitionTask(other.db, {
          id: task.id,
          from: "queued",
          to: "assigned",
          set: { assignedTo: "agent-2" },
          now: T0 + 2,
        });
      } catch (error) {
        lost = error;
      }
      expect(lost).toBeInstanceOf(IllegalTransitionError);
      expect(lost).toMatchObject({
        from: "assigned",
        to: "assigned",
        details: { from: "assigned", to: "assigned", task_id: task.id },
      });
      expect(getTask(database.db, task.id)).toMatchObject({ assignedTo: "agent-1", updatedAt: T0 + 1 });
    } finally {
      other.close();
    }
  });

  dbTest(
    "fencing in the statement: a write from another holder or attempt changes nothing, across connections",
    ({ database, dbDir }) => {
      seedAgent(database.db, "agent-1");
      seedAgent(database.db, "agent-2");
      const task = seedTaskInStatus(database.db, "running", { attempt: 1 });
      const other = openDatabase({ path: join(dbDir, "m3shd.db") });
      try {
        // The other process reclaims it and agent-2 claims it: attempt 2, agent-2.
        transitionTask(other.db, { id: task.id, from: "running", to: "queued", now: T0 + 1 });
        transitionTask(other.db, {
          id: task.id,
          from: "queued",
          to: "assigned",
          set: { assignedTo: "agent-2" },
          now: T0 + 2,
        });
        transitionTask(other.db, {
          id: task.id,
          from: "assigned",
          to: "running",
          set: { attempt: 2 },
          now: T0 + 3,
        });
        // agent-1's completion of attempt 1, judged on its earlier read, is refused by the statement.
        expect(() =>
          transitionTask(database.db, {
            id: task.id,
            from: "running",
            to: "done",
            match: { assignedTo: "agent-1", attempt: 1 },
            set: { output: "late" },
            now: T0 + 4,
          }),
        ).toThrow(expect.objectContaining({ code: "forbidden" }));
        // The current holder with a stale attempt number: 409 stale_attempt naming the current one.
        expect(() =>
          transitionTask(database.db, {
            id: task.id,
            from: "running",
            to: "done",
            match: { assignedTo: "agent-2", attempt: 1 },
            now: T0 + 4,
          }),
        ).toThrow(expect.objectContaining({ code: "stale_attempt", currentAttempt: 2 }));
        expect(getTask(database.db, task.id)).toMatchObject({
          status: "running",
          assignedTo: "agent-2",
          output: null,
        });
        const done = transitionTask(database.db, {
          id: task.id,
          from: "running",
          to: "done",
          match: { assignedTo: "agent-2", attempt: 2 },
          set: { output: "ok" },
          now: T0 + 5,
        });
        expect(done).toMatchObject({ status: "done", output: "ok" });
      } finally {
        other.close();
      }
    },
  );

  dbTest("a missing task is NotFoundError", ({ database: { db } }) => {
    expect(() => transitionTask(db, { id: "nope", from: "queued", to: "cancelled", now: T0 })).toThrow(
      NotFoundError,
    );
    expect(() => transitionTask(db, { id: "nope", from: "queued", to: "cancelled", now: T0 })).toThrow(
      expect.objectContaining({ code: "not_found" }),
    );
  });

  dbTest("stamps the lifecycle timestamps and writes `set` in the same statement", ({ database: { db } }) => {
    seedAgent(db);
    const { id } = insertTask(db, { task: taskRow(), now: T0 });
    transitionTask(db, { id, from: "queued", to: "assigned", set: { assignedTo: "agent-1" }, now: T0 + 10 });
    transitionTask(db, { id, from: "assigned", to: "running", now: T0 + 20 });
    const done = transitionTask(db, {
      id,
      from: "running",
      to: "done",
      set: { output: "42", confidence: 0.9, inputTokens: 10, outputTokens: 2 },
      now: T0 + 30,
    });
    expect(done).toMatchObject({
      status: "done",
      assignedTo: "agent-1",
      assignedAt: T0 + 10,
      startedAt: T0 + 20,
      completedAt: T0 + 30,
      updatedAt: T0 + 30,
      output: "42",
      confidence: 0.9,
    });
  });

  dbTest("assigning without an agent is refused", ({ database: { db } }) => {
    const task = seedTaskInStatus(db, "queued");
    expect(() => transitionTask(db, { id: task.id, from: "queued", to: "assigned", now: T0 })).toThrow(
      /assignedTo/,
    );
    expect(() => transitionTask(db, { id: task.id, from: [], to: "cancelled", now: T0 })).toThrow(TypeError);
    expect(getTask(db, task.id)?.status).toBe("queued");
  });

  dbTest("composes inside a caller's transaction and rolls back with it", ({ database: { db } }) => {
    const task = seedTaskInStatus(db, "queued");
    expect(() =>
      db.transaction((tx) => {
        transitionTask(tx, {
          id: task.id,
          from: "queued",
          to: "cancelled",
          set: { cancelReason: "x" },
          now: T0 + 1,
        });
        expect(getTask(tx, task.id)?.status).toBe("cancelled");
        throw new Error("abort");
      }),
    ).toThrow("abort");
    expect(getTask(db, task.id)).toEqual(task);
  });
});
