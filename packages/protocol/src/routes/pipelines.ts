import { z } from "zod";
import { AddDependenciesBodySchema } from "../dag";
import { CreatePipelineBodySchema, PipelineIdSchema, PipelineResponseSchema } from "../pipeline";
import { defineRoute } from "../route";
import { TaskPathSchema, TaskResponseSchema } from "./tasks";

/**
 * Raw body ceiling for a pipeline: up to 200 steps of 8 KB prompts, with room for JSON escaping
 * (the exact per-field byte limits are the protocol schema's).
 */
export const PIPELINE_BODY_BYTES = 4 * 1024 * 1024;

export const PipelinePathSchema = z.object({ id: PipelineIdSchema });

export const createPipelineRoute = defineRoute({
  id: "pipelines.create",
  method: "POST",
  path: "/api/pipelines",
  permission: "tasks:write",
  summary: "Create many dependent tasks in one transaction",
  description: "Steps refer to each other by name; a dependency cycle is refused with 409.",
  tags: ["pipelines"],
  body: CreatePipelineBodySchema,
  bodyLimitBytes: PIPELINE_BODY_BYTES,
  responses: { 201: PipelineResponseSchema },
  errors: [404, 409],
});

export const getPipelineRoute = defineRoute({
  id: "pipelines.get",
  method: "GET",
  path: "/api/pipelines/:id",
  permission: "tasks:read",
  summary: "A pipeline's tasks (with any handoff continuations), oldest first",
  tags: ["pipelines"],
  params: PipelinePathSchema,
  responses: { 200: PipelineResponseSchema },
  errors: [404],
});

export const addDependenciesRoute = defineRoute({
  id: "tasks.addDependencies",
  method: "POST",
  path: "/api/tasks/:id/dependencies",
  permission: "tasks:write",
  summary: "Add parents to a task not yet dispatched",
  description: "Refused with 409 if it would close a cycle or the task was already dispatched.",
  tags: ["pipelines"],
  params: TaskPathSchema,
  body: AddDependenciesBodySchema,
  bodyLimitBytes: 64 * 1024,
  responses: { 200: TaskResponseSchema },
  errors: [404, 409],
});

export const PIPELINE_ROUTES = [createPipelineRoute, getPipelineRoute, addDependenciesRoute] as const;
