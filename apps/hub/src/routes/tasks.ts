import {
  CancelTaskBodySchema,
  CompleteTaskBodySchema,
  CreateTaskBodySchema,
  HandoffBodySchema,
  LIMITS,
  ListTasksQuerySchema,
  StreamChunkBodySchema,
  TaskIdSchema,
} from "@m3shd/protocol";
import { jsonBody, pathParams, queryParams } from "@m3shd/service-kit";
import { z } from "zod";
import { actingAgent, authorize, principalOf } from "../middleware/auth";
import {
  appendChunk,
  cancelTask,
  completeTask,
  createTask,
  getChunks,
  getTask,
  handoffTask,
  listTasks,
} from "../services/tasks";
import type { HubApp, RouteDeps } from "../types";

const TaskPath = z.object({ id: TaskIdSchema });

/**
 * Raw body ceilings, checked before parsing. JSON escaping can inflate a string (a newline is two
 * bytes, a control character six), so each ceiling leaves room above its field's UTF-8 limit; the
 * exact byte limit is then enforced on the parsed string by the protocol schema.
 */
const BODY = {
  create: 4 * LIMITS.promptBytes + 16 * 1024,
  chunk: 4 * LIMITS.streamChunkBytes + 4 * 1024,
  complete: LIMITS.requestBodyBytes,
  handoff: 4 * LIMITS.handoffPartialBytes + 16 * 1024,
  small: 16 * 1024,
} as const;

/** Operator task API and the worker's per-task calls. */
export function registerTaskRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.post(
    "/api/tasks",
    authorize("tasks:write", authenticate),
    ...jsonBody(CreateTaskBodySchema, BODY.create),
    async (c) => c.json({ task: await createTask(ctx, c.req.valid("json"), principalOf(c).subject) }, 201),
  );

  app.get("/api/tasks", authorize("tasks:read", authenticate), queryParams(ListTasksQuerySchema), (c) =>
    c.json(listTasks(ctx, c.req.valid("query"))),
  );

  app.get("/api/tasks/:id", authorize("tasks:read", authenticate), pathParams(TaskPath), (c) =>
    c.json({ task: getTask(ctx, c.req.valid("param").id) }),
  );

  app.post(
    "/api/tasks/:id/cancel",
    authorize("tasks:write", authenticate),
    pathParams(TaskPath),
    ...jsonBody(CancelTaskBodySchema, BODY.small),
    async (c) =>
      c.json({
        task: await cancelTask(ctx, c.req.valid("param").id, c.req.valid("json"), principalOf(c).subject),
      }),
  );

  app.put(
    "/api/tasks/:id",
    authorize("tasks:write", authenticate),
    pathParams(TaskPath),
    ...jsonBody(CompleteTaskBodySchema, BODY.complete),
    async (c) => {
      const result = await completeTask(ctx, c.req.valid("param").id, actingAgent(c), c.req.valid("json"));
      return c.json({ task: result.task, replayed: result.replayed });
    },
  );

  app.post(
    "/api/tasks/:id/stream",
    authorize("tasks:stream", authenticate),
    pathParams(TaskPath),
    ...jsonBody(StreamChunkBodySchema, BODY.chunk),
    async (c) => c.json(await appendChunk(ctx, c.req.valid("param").id, actingAgent(c), c.req.valid("json"))),
  );

  app.get(
    "/api/tasks/:id/chunks",
    authorize("tasks:read", authenticate),
    pathParams(TaskPath),
    queryParams(z.strictObject({ after: z.coerce.number<string>().int().min(-1).optional() })),
    (c) => c.json({ chunks: getChunks(ctx, c.req.valid("param").id, c.req.valid("query").after) }),
  );

  app.post(
    "/api/tasks/:id/handoff",
    authorize("tasks:write", authenticate),
    pathParams(TaskPath),
    ...jsonBody(HandoffBodySchema, BODY.handoff),
    async (c) =>
      c.json(await handoffTask(ctx, c.req.valid("param").id, actingAgent(c), c.req.valid("json")), 201),
  );
}
