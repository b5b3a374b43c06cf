import { addDependenciesRoute, createPipelineRoute, getPipelineRoute } from "@m3shd/protocol";
import { principalOf } from "../middleware/auth";
import { addDependencies } from "../services/dag";
import { createPipeline, getPipeline } from "../services/pipelines";
import { getTask } from "../services/tasks";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/** Pipelines (many tasks in one transaction) and adding dependencies to an existing task. */
export function registerPipelineRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, createPipelineRoute, authenticate, async (c, { body }) => ({
    status: 201,
    body: await createPipeline(ctx, body, principalOf(c).subject),
  }));

  handle(app, getPipelineRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: getPipeline(ctx, params.id),
  }));

  /** More parents for a task not yet dispatched; refused with 409 if it would close a cycle. */
  handle(app, addDependenciesRoute, authenticate, (_c, { params, body }) => {
    addDependencies(ctx, params.id, body.depends_on);
    return { status: 200, body: { task: getTask(ctx, params.id) } };
  });
}
