import {
  deleteTemplate as dbDeleteTemplate,
  listTemplates as dbListTemplates,
  updateTemplate as dbUpdateTemplate,
  type Executor,
  getTemplate,
  getTemplateByName,
  insertTemplate,
  type NewTemplateRow,
  seedTemplatesOnFirstRun,
  type TemplateRow,
  toApiTemplate,
} from "@m3shd/db";
import {
  type CreateTemplateBody,
  checkTemplateVariables,
  type DispatchTemplateBody,
  LIMITS,
  M3shdError,
  NotFoundError,
  newId,
  renderTemplate,
  type Task,
  type Template,
  TemplateIdSchema,
  type UpdateTemplateBody,
  utf8ByteLength,
  ValidationError,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import { audited } from "./audit";
import { createTask } from "./tasks";

/** The templates a new mesh starts with. */
export const SEED_TEMPLATES: readonly Omit<NewTemplateRow, "id">[] = [
  {
    name: "Research",
    description: "Research a topic and report the key facts with sources.",
    promptTemplate:
      "Research {topic}. Gather the key facts, cite your sources, and list the open questions that remain.",
    capability: "research",
  },
  {
    name: "Summarize",
    description: "Summarize a document, thread or result.",
    promptTemplate: "Summarize {target}: the main points in a few short paragraphs, then a one-line TL;DR.",
    capability: "summarize",
  },
  {
    name: "QA",
    description: "Check a piece of work for errors and gaps.",
    promptTemplate:
      "Quality-check {target}: list factual errors, gaps and inconsistencies, each with a suggested fix.",
    capability: "qa",
  },
  {
    name: "Code Review",
    description: "Review code for correctness, security, performance and readability.",
    promptTemplate:
      "Review {target}: correctness, security, performance and readability. List concrete issues by severity, with fixes.",
    capability: "code_review",
  },
  {
    name: "Write",
    description: "Write a clear piece about a topic.",
    promptTemplate: "Write about {topic}: a clear, well-structured piece for a general technical audience.",
    capability: "write",
  },
];

/** Inserts the seed templates on a database's first run (see `seedTemplatesOnFirstRun`). */
export function seedTemplates(ctx: HubContext): number {
  return seedTemplatesOnFirstRun(
    ctx.database.db,
    SEED_TEMPLATES.map((seed) => ({ ...seed, id: newId("tpl"), createdBy: "system" })),
    ctx.now(),
  );
}

/** A template by id (`tpl_…`) or by name; 404 otherwise. */
export function resolveTemplate(db: Executor, ref: string): TemplateRow {
  const row = TemplateIdSchema.safeParse(ref).success ? getTemplate(db, ref) : getTemplateByName(db, ref);
  if (!row) throw new NotFoundError("template", ref);
  return row;
}

/**
 * The prompt a template renders to with `variables`. A missing or extra variable is a 422 whose
 * message and details name every one (`details.missing`, `details.extra`, and one issue each).
 */
export function renderTemplatePrompt(
  template: TemplateRow,
  variables: Readonly<Record<string, string>>,
  path: (string | number)[] = ["variables"],
): string {
  const { missing, extra } = checkTemplateVariables(template.promptTemplate, variables);
  if (missing.length > 0 || extra.length > 0) {
    const parts = [
      missing.length > 0 ? `missing variables: ${missing.join(", ")}` : null,
      extra.length > 0 ? `unexpected variables: ${extra.join(", ")}` : null,
    ].filter(Boolean);
    throw new M3shdError("validation_failed", `Template ${template.name}: ${parts.join("; ")}`, {
      template_id: template.id,
      missing,
      extra,
      issues: [
        ...missing.map((name) => ({
          path: [...path, name],
          code: "missing_variable",
          message: `Missing ${name}`,
        })),
        ...extra.map((name) => ({
          path: [...path, name],
          code: "unexpected_variable",
          message: `Unexpected ${name}`,
        })),
      ],
    });
  }
  const prompt = renderTemplate(template.promptTemplate, variables);
  if (utf8ByteLength(prompt) > LIMITS.promptBytes) {
    throw new ValidationError(`Template ${template.name} renders to more than ${LIMITS.promptBytes} bytes`, [
      { path, code: "too_big", message: `The rendered prompt exceeds ${LIMITS.promptBytes} bytes (UTF-8)` },
    ]);
  }
  return prompt;
}

export function listTemplates(ctx: HubContext): Template[] {
  return dbListTemplates(ctx.database.db).map(toApiTemplate);
}

export function getTemplateById(ctx: HubContext, id: string): Template {
  const row = getTemplate(ctx.database.db, id);
  if (!row) throw new NotFoundError("template", id);
  return toApiTemplate(row);
}

export function createTemplate(ctx: HubContext, body: CreateTemplateBody, createdBy: string): Template {
  return toApiTemplate(
    audited(
      ctx,
      "template.create",
      (tx) =>
        insertTemplate(tx, {
          id: newId("tpl"),
          name: body.name,
          description: body.description,
          promptTemplate: body.prompt_template,
          capability: body.capability,
          priority: body.priority,
          createdBy,
          createdAt: ctx.now(),
        }),
      (row) => row.id,
    ),
  );
}

export function updateTemplate(ctx: HubContext, id: string, body: UpdateTemplateBody): Template {
  return toApiTemplate(
    audited(
      ctx,
      "template.update",
      (tx) =>
        dbUpdateTemplate(tx, {
          id,
          set: {
            ...(body.name !== undefined ? { name: body.name } : {}),
            ...(body.description !== undefined ? { description: body.description } : {}),
            ...(body.prompt_template !== undefined ? { promptTemplate: body.prompt_template } : {}),
            ...(body.capability !== undefined ? { capability: body.capability } : {}),
            ...(body.priority !== undefined ? { priority: body.priority } : {}),
          },
          now: ctx.now(),
        }),
      () => id,
    ),
  );
}

export function deleteTemplate(ctx: HubContext, id: string): void {
  audited(
    ctx,
    "template.delete",
    (tx) => {
      if (!dbDeleteTemplate(tx, id)) throw new NotFoundError("template", id);
    },
    () => id,
  );
}

/** `POST /api/templates/:id/dispatch`: render and create the task (as `POST /api/tasks` would). */
export async function dispatchTemplate(
  ctx: HubContext,
  id: string,
  body: DispatchTemplateBody,
  createdBy: string,
): Promise<Task> {
  const row = getTemplate(ctx.database.db, id);
  if (!row) throw new NotFoundError("template", id);
  const prompt = renderTemplatePrompt(row, body.variables);
  return createTask(
    ctx,
    {
      title: body.title ?? row.name,
      prompt,
      required_capability: row.capability,
      priority: body.priority ?? row.priority,
      ...(body.assign_to !== undefined ? { assign_to: body.assign_to } : {}),
      ...(body.deadline !== undefined ? { deadline: body.deadline } : {}),
      depends_on: body.depends_on,
      max_attempts: body.max_attempts,
    },
    createdBy,
  );
}
