import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getTask, insertTask, openDatabase, updateAgent, upsertAgent } from "@m3shd/db";
import { newId } from "@m3shd/protocol";
import { createQueueRuntime } from "@m3shd/queue";
import { pino } from "pino";
import { test as base, describe, expect } from "vitest";
import { runDispatchPass } from "./assign";
import { DEFAULT_DISPATCHER_CONFIG, type DispatcherContext } from "./context";

const T0 = Date.UTC(2026, 10, 25, 9, 0, 0);
const test = base.extend<{ ctx: DispatcherContext }>({
  // biome-ignore lint/correctness/noEmptyPattern: vitest fixtures must destructure their context
  ctx: async ({}, use) => {
    const dir = mkdtempSync(join(tmpdir(), "m3shd-assign-"));
    const database = openDatabase({ path: join(dir, "d.db") });
    const queue = await createQueueRuntime();
    await use({
      database,
      queue,
      logger: pino({ level: "silent" }),
      now: () => T0,
      config: DEFAULT_DISPATCHER_CONFIG,
    });
    await queue.close();
    database.close();
    rmSync(dir, { recursive: true, force: true });
  },
});

function addTask(ctx: DispatcherContext, capability: string) {
  return insertTask(ctx.database.db, {
    task: { id: newId("task"), title: "t", prompt: "p", requiredCapability: capability },
    now: ctx.now(),
  });
}

describe("runDispatchPass", () => {
  test("never assigns outside the registering token's capabilities, whatever the row advertises", async ({
    ctx,
  }) => {
    const db = ctx.database.db;
    // The row claims `secrets` (edited by some other path), but its token allows only `echo`.
    upsertAgent(db, {
      id: "bound",
      name: "bound",
      capabilities: ["echo", "secrets"],
      allowedCapabilities: ["echo"],
      maxConcurrent: 4,
      now: T0,
    });
    const secret = addTask(ctx, "secrets");
    const echo = addTask(ctx, "echo");
    const result = await runDispatchPass(ctx);
    expect(result.assigned).toBe(1);
    expect(getTask(db, echo.id)?.assignedTo).toBe("bound");
    expect(getTask(db, secret.id)?.status).toBe("queued");
  });

  test("skips a draining agent (over its load ceiling) and assigns once it is not", async ({ ctx }) => {
    const db = ctx.database.db;
    upsertAgent(db, { id: "hot", name: "hot", capabilities: ["echo"], maxConcurrent: 2, now: T0 });
    updateAgent(db, { id: "hot", set: { draining: true }, now: T0 });
    const task = addTask(ctx, "echo");
    expect((await runDispatchPass(ctx)).assigned).toBe(0);
    expect(getTask(db, task.id)?.status).toBe("queued");
    updateAgent(db, { id: "hot", set: { draining: false }, now: T0 });
    expect((await runDispatchPass(ctx)).assigned).toBe(1);
    expect(getTask(db, task.id)?.assignedTo).toBe("hot");
  });

  test("offers nothing to an agent whose long-poll was lost until it polls again", async ({ ctx }) => {
    const db = ctx.database.db;
    upsertAgent(db, { id: "cut", name: "cut", capabilities: ["echo"], maxConcurrent: 2, now: T0 });
    upsertAgent(db, { id: "fine", name: "fine", capabilities: ["echo"], maxConcurrent: 1, now: T0 });
    updateAgent(db, { id: "cut", set: { pollLostAt: T0 }, now: T0 });
    updateAgent(db, { id: "fine", set: { draining: true }, now: T0 });
    const task = addTask(ctx, "echo");
    expect((await runDispatchPass(ctx)).assigned).toBe(0);
    expect(getTask(db, task.id)?.status).toBe("queued");
    // The hub clears the mark when the agent's next poll opens.
    updateAgent(db, { id: "cut", set: { pollLostAt: null }, now: T0 });
    expect((await runDispatchPass(ctx)).assigned).toBe(1);
    expect(getTask(db, task.id)?.assignedTo).toBe("cut");
  });
});
