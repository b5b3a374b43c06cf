import {
  CreateTemplateBodySchema,
  DispatchTemplateBodySchema,
  LIMITS,
  TemplateIdSchema,
  UpdateTemplateBodySchema,
} from "@m3shd/protocol";
import { jsonBody, pathParams } from "@m3shd/service-kit";
import { z } from "zod";
import { authorize, principalOf } from "../middleware/auth";
import {
  createTemplate,
  deleteTemplate,
  dispatchTemplate,
  getTemplateById,
  listTemplates,
  updateTemplate,
} from "../services/templates";
import type { HubApp, RouteDeps } from "../types";

const TemplatePath = z.object({ id: TemplateIdSchema });
const TEMPLATE_BODY = 4 * LIMITS.promptBytes + 16 * 1024;
/** Up to 32 variables of 8 KB each, with room for JSON escaping. */
const DISPATCH_BODY = 1024 * 1024 + 64 * 1024;

/**
 * Task templates. Reading and dispatching are task permissions; writing a template is
 * `agents:write` (an operator's power, not a worker's): a template's text reaches every agent that
 * is later dispatched from it, so a worker token must not be able to rewrite it.
 */
export function registerTemplateRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  app.get("/api/templates", authorize("tasks:read", authenticate), (c) =>
    c.json({ templates: listTemplates(ctx) }),
  );

  app.get("/api/templates/:id", authorize("tasks:read", authenticate), pathParams(TemplatePath), (c) =>
    c.json({ template: getTemplateById(ctx, c.req.valid("param").id) }),
  );

  app.post(
    "/api/templates",
    authorize("agents:write", authenticate),
    ...jsonBody(CreateTemplateBodySchema, TEMPLATE_BODY),
    (c) => c.json({ template: createTemplate(ctx, c.req.valid("json"), principalOf(c).subject) }, 201),
  );

  app.put(
    "/api/templates/:id",
    authorize("agents:write", authenticate),
    pathParams(TemplatePath),
    ...jsonBody(UpdateTemplateBodySchema, TEMPLATE_BODY),
    (c) => c.json({ template: updateTemplate(ctx, c.req.valid("param").id, c.req.valid("json")) }),
  );

  app.delete("/api/templates/:id", authorize("agents:write", authenticate), pathParams(TemplatePath), (c) => {
    deleteTemplate(ctx, c.req.valid("param").id);
    return c.json({ deleted: true });
  });

  app.post(
    "/api/templates/:id/dispatch",
    authorize("tasks:write", authenticate),
    pathParams(TemplatePath),
    ...jsonBody(DispatchTemplateBodySchema, DISPATCH_BODY),
    async (c) =>
      c.json(
        {
          task: await dispatchTemplate(
            ctx,
            c.req.valid("param").id,
            c.req.valid("json"),
            principalOf(c).subject,
          ),
        },
        201,
      ),
  );
}
