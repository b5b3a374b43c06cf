import {
  createTemplateRoute,
  deleteTemplateRoute,
  dispatchTemplateRoute,
  getTemplateRoute,
  listTemplatesRoute,
  updateTemplateRoute,
} from "@m3shd/protocol";
import { principalOf } from "../middleware/auth";
import {
  createTemplate,
  deleteTemplate,
  dispatchTemplate,
  getTemplateById,
  listTemplates,
  updateTemplate,
} from "../services/templates";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/**
 * Task templates. Reading and dispatching are task permissions; writing a template is
 * `agents:write` (an operator's power, not a worker's): a template's text reaches every agent that
 * is later dispatched from it, so a worker token must not be able to rewrite it.
 */
export function registerTemplateRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  handle(app, listTemplatesRoute, authenticate, () => ({
    status: 200,
    body: { templates: listTemplates(ctx) },
  }));

  handle(app, getTemplateRoute, authenticate, (_c, { params }) => ({
    status: 200,
    body: { template: getTemplateById(ctx, params.id) },
  }));

  handle(app, createTemplateRoute, authenticate, (c, { body }) => ({
    status: 201,
    body: { template: createTemplate(ctx, body, principalOf(c).subject) },
  }));

  handle(app, updateTemplateRoute, authenticate, (_c, { params, body }) => ({
    status: 200,
    body: { template: updateTemplate(ctx, params.id, body) },
  }));

  handle(app, deleteTemplateRoute, authenticate, (_c, { params }) => {
    deleteTemplate(ctx, params.id);
    return { status: 200, body: { deleted: true as const } };
  });

  handle(app, dispatchTemplateRoute, authenticate, async (c, { params, body }) => ({
    status: 201,
    body: { task: await dispatchTemplate(ctx, params.id, body, principalOf(c).subject) },
  }));
}
