import {
  CreateTaskBodySchema,
  ErrorBodySchema,
  TaskListResponseSchema,
  TaskResponseSchema,
} from "@m3shd/protocol";
import { describe, expect } from "vitest";
import { submitTask } from "../src/services/tasks";
import { hubTest as test } from "./fixture";

const body = { title: "t", prompt: "p", required_capability: "echo" };

describe("POST /api/tasks with idempotency_key", () => {
  test("a repeat returns the first task (200) and creates nothing", async ({ call }) => {
    const first = await call("POST", "/api/tasks", { body: { ...body, idempotency_key: "imsg:ABC-123" } });
    expect(first.status).toBe(201);
    const again = await call("POST", "/api/tasks", { body: { ...body, idempotency_key: "imsg:ABC-123" } });
    expect(again.status).toBe(200);
    expect(TaskResponseSchema.parse(again.body).task.id).toBe(TaskResponseSchema.parse(first.body).task.id);
    const list = TaskListResponseSchema.parse((await call("GET", "/api/tasks")).body);
    expect(list.tasks).toHaveLength(1);
  });

  test("concurrent repeats create one task", async ({ call }) => {
    const all = await Promise.all(
      Array.from({ length: 10 }, () =>
        call("POST", "/api/tasks", { body: { ...body, idempotency_key: "k-1" } }),
      ),
    );
    expect(all.filter((r) => r.status === 201)).toHaveLength(1);
    expect(new Set(all.map((r) => r.body.task.id)).size).toBe(1);
  });

  test("the same key for a different request is a 409", async ({ call }) => {
    await call("POST", "/api/tasks", { body: { ...body, idempotency_key: "k-2" } });
    const res = await call("POST", "/api/tasks", {
      body: { ...body, prompt: "other", idempotency_key: "k-2" },
    });
    expect(res.status).toBe(409);
    expect(ErrorBodySchema.parse(res.body).error.code).toBe("conflict");
  });

  test("keys are per caller: another caller's key is a different task", async ({ hub }) => {
    const input = CreateTaskBodySchema.parse({ ...body, idempotency_key: "k-3" });
    const mine = await submitTask(hub.ctx, input, "usr_alice");
    const theirs = await submitTask(hub.ctx, input, "usr_bob");
    expect(theirs.replayed).toBe(false);
    expect(theirs.task.id).not.toBe(mine.task.id);
    expect((await submitTask(hub.ctx, input, "usr_bob")).task.id).toBe(theirs.task.id);
  });

  test("without a key every request is a new task; a bad key is a 4xx, never a 500", async ({ call }) => {
    const a = await call("POST", "/api/tasks", { body });
    const b = await call("POST", "/api/tasks", { body });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.task.id).not.toBe(b.body.task.id);
    for (const idempotency_key of ["", "has space", "x".repeat(201), "ünï", 42]) {
      const res = await call("POST", "/api/tasks", { body: { ...body, idempotency_key } });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      ErrorBodySchema.parse(res.body);
    }
  });
});
