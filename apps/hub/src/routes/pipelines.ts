import {
  AddDependenciesBodySchema,
  CreatePipelineBodySchema,
  PipelineIdSchema,
  TaskIdSchema,
} from "@m3shd/protocol";
import { jsonBody, pathParams } from "@m3shd/service-kit";
import { z } from "zod";
import { authorize, principalOf } from "../middleware/auth";
import { addDependencies } from "../services/dag";
import { createPipeline, getPipeline } from "../services/pipelines";
import { getTask } from "../services/tasks";
import type { HubApp, RouteDeps } from "../types";

/**
 * Raw body ceiling for a pipeline: up to 200 steps of 8 KB prompts, with room for JSON escaping
 * (the exact per-field byte limits are the protocol schema's).
 */
const PIPELINE_BODY = 4 * 1024 * 1024;

/** Pipelines (many tasks in one transaction) and adding dependencies to an existing task. */
export function registerPipelineRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.post(
    "/api/pipelines",
    authorize("tasks:write", authenticate),
    ...jsonBody(CreatePipelineBodySchema, PIPELINE_BODY),
    async (c) => c.json(await createPipeline(ctx, c.req.valid("json"), principalOf(c).subject), 201),
  );

  app.get(
    "/api/pipelines/:id",
    authorize("tasks:read", authenticate),
    pathParams(z.object({ id: PipelineIdSchema })),
    (c) => c.json(getPipeline(ctx, c.req.valid("param").id)),
  );

  /** More parents for a task not yet dispatched; refused with 409 if it would close a cycle. */
  app.post(
    "/api/tasks/:id/dependencies",
    authorize("tasks:write", authenticate),
    pathParams(z.object({ id: TaskIdSchema })),
    ...jsonBody(AddDependenciesBodySchema, 64 * 1024),
    (c) => {
      const { id } = c.req.valid("param");
      addDependencies(ctx, id, c.req.valid("json").depends_on);
      return c.json({ task: getTask(ctx, id) });
    },
  );
}
