import { z } from "zod";
import { LIMITS } from "../limits";
import { defineRoute } from "../route";
import {
  CreateTemplateBodySchema,
  DispatchTemplateBodySchema,
  TemplateIdSchema,
  TemplateListResponseSchema,
  TemplateSchema,
  UpdateTemplateBodySchema,
} from "../template";
import { DeletedResponseSchema } from "./common";
import { TaskResponseSchema } from "./tasks";

export const TemplatePathSchema = z.object({ id: TemplateIdSchema });

export const TemplateResponseSchema = z.object({ template: TemplateSchema });
export type TemplateResponse = z.infer<typeof TemplateResponseSchema>;

const TEMPLATE_BODY_BYTES = 4 * LIMITS.promptBytes + 16 * 1024;
/** Up to 32 variables of 8 KB each, with room for JSON escaping. */
const DISPATCH_BODY_BYTES = 1024 * 1024 + 64 * 1024;

const WRITE_NOTE =
  "`agents:write` (an operator's power, not a worker's): a template's text reaches every agent later dispatched from it.";

export const listTemplatesRoute = defineRoute({
  id: "templates.list",
  method: "GET",
  path: "/api/templates",
  permission: "tasks:read",
  summary: "List task templates",
  tags: ["templates"],
  responses: { 200: TemplateListResponseSchema },
});

export const getTemplateRoute = defineRoute({
  id: "templates.get",
  method: "GET",
  path: "/api/templates/:id",
  permission: "tasks:read",
  summary: "Get one task template",
  tags: ["templates"],
  params: TemplatePathSchema,
  responses: { 200: TemplateResponseSchema },
  errors: [404],
});

export const createTemplateRoute = defineRoute({
  id: "templates.create",
  method: "POST",
  path: "/api/templates",
  permission: "agents:write",
  summary: "Create a task template (names are unique: 409)",
  description: WRITE_NOTE,
  tags: ["templates"],
  body: CreateTemplateBodySchema,
  bodyLimitBytes: TEMPLATE_BODY_BYTES,
  responses: { 201: TemplateResponseSchema },
  errors: [409],
});

export const updateTemplateRoute = defineRoute({
  id: "templates.update",
  method: "PUT",
  path: "/api/templates/:id",
  permission: "agents:write",
  summary: "Change a task template",
  description: WRITE_NOTE,
  tags: ["templates"],
  params: TemplatePathSchema,
  body: UpdateTemplateBodySchema,
  bodyLimitBytes: TEMPLATE_BODY_BYTES,
  responses: { 200: TemplateResponseSchema },
  errors: [404, 409],
});

export const deleteTemplateRoute = defineRoute({
  id: "templates.delete",
  method: "DELETE",
  path: "/api/templates/:id",
  permission: "agents:write",
  summary: "Delete a task template",
  tags: ["templates"],
  params: TemplatePathSchema,
  responses: { 200: DeletedResponseSchema },
  errors: [404],
});

export const dispatchTemplateRoute = defineRoute({
  id: "templates.dispatch",
  method: "POST",
  path: "/api/templates/:id/dispatch",
  permission: "tasks:write",
  summary: "Render a template with variables and submit the task",
  description: "As `POST /api/tasks` would; a missing or unknown variable is a 422.",
  tags: ["templates"],
  params: TemplatePathSchema,
  body: DispatchTemplateBodySchema,
  bodyLimitBytes: DISPATCH_BODY_BYTES,
  responses: { 201: TaskResponseSchema },
  errors: [404, 409],
});

export const TEMPLATE_ROUTES = [
  listTemplatesRoute,
  getTemplateRoute,
  createTemplateRoute,
  updateTemplateRoute,
  deleteTemplateRoute,
  dispatchTemplateRoute,
] as const;
