import {
  cancelTaskRoute,
  completeTaskRoute,
  createTaskRoute,
  getTaskRoute,
  handoffTaskRoute,
  listChunksRoute,
  listTasksRoute,
  streamChunkRoute,
} from "@m3shd/protocol";
import { actingAgent, principalOf } from "../middleware/auth";
import {
  appendChunk,
  cancelTask,
  completeTask,
  getChunks,
  getTask,
  handoffTask,
  listTasks,
  submitTask,
} from "../services/tasks";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** Operator task API and the worker's per-task calls. */
export function registerTaskRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, createTaskRoute, authenticate, async (c, { body }) => {
    const { task, replayed } = await submitTask(ctx, body, principalOf(c).subject);
    return { status: replayed ? 200 : 201, body: { task } };
  });

  handle(app, listTasksRoute, authenticate, (_c, { query }) => ({
    status: 200,
    body: listTasks(ctx, query),
  }));

  handle(app, getTaskRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: { task: getTask(ctx, params.id) },
  }));

  handle(app, cancelTaskRoute, authenticate, async (c, { params, body }) => ({
    status: 200,
    body: { task: await cancelTask(ctx, params.id, body, principalOf(c).subject) },
  }));

  handle(app, completeTaskRoute, authenticate, async (c, { params, body }) => {
    const result = await completeTask(ctx, params.id, actingAgent(c), body);
    return {
      status: 200,
      body: {
        task: result.task,
        replayed: result.replayed,
        ...(result.contribution ? { contribution: result.contribution } : {}),
      },
    };
  });

  handle(app, streamChunkRoute, authenticate, async (c, { params, body }) => ({
    status: 200,
    body: await appendChunk(ctx, params.id, actingAgent(c), body),
  }));

  handle(app, listChunksRoute, authenticate, (_c, { params, query }) => ({
    status: 200,
    body: { chunks: getChunks(ctx, params.id, query) },
  }));

  handle(app, handoffTaskRoute, authenticate, async (c, { params, body }) => ({
    status: 201,
    body: await handoffTask(ctx, params.id, actingAgent(c), body),
  }));
}
