import { z } from "zod";
import { PRIORITY_DEFAULT } from "./enums";
import { AgentIdSchema, CapabilitySchema, EpochMsSchema, prefixedIdSchema, TaskIdSchema } from "./ids";
import { boundedString, LIMITS } from "./limits";
import { DeadlineInputSchema, PrioritySchema } from "./task";

/**
 * Task templates: a reusable prompt with `{variable}` placeholders (a letter, then letters, digits
 * or `_`), dispatched as a task once the variables are filled in. `{{` and `}}` stand for literal
 * braces; any other brace is literal too.
 */

/** Template id: `tpl_` + ULID. */
export const TemplateIdSchema = prefixedIdSchema("tpl");
export type TemplateId = z.infer<typeof TemplateIdSchema>;

/** A placeholder name: `{topic}`, `{target_url}`. */
export const TemplateVariableNameSchema = z
  .string()
  // Starts with a letter: a name like `__proto__` must never become a key of a plain object.
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "Expected a variable name matching ^[A-Za-z][A-Za-z0-9_]{0,63}$");

/** Template names are unique; they are also how pipeline steps refer to a template. */
export const TemplateNameSchema = z.string().trim().min(1).max(100);

/** Variables one dispatch may pass. */
export const TEMPLATE_VARIABLES_MAX = 32;

/** A template as the API returns it. */
export const TemplateSchema = z.object({
  id: TemplateIdSchema,
  name: z.string(),
  description: z.string(),
  prompt_template: z.string(),
  capability: CapabilitySchema,
  priority: PrioritySchema,
  /** Placeholders in `prompt_template`, in order of first appearance. */
  variables: z.array(z.string()),
  created_by: z.string().nullable(),
  created_at: EpochMsSchema,
  updated_at: EpochMsSchema,
});
export type Template = z.infer<typeof TemplateSchema>;

/** `POST /api/templates`. */
export const CreateTemplateBodySchema = z.strictObject({
  name: TemplateNameSchema,
  description: z.string().max(2000).default(""),
  /** At most `LIMITS.promptBytes` (8 KB) UTF-8 bytes, like a task prompt. */
  prompt_template: boundedString(LIMITS.promptBytes).min(1),
  capability: CapabilitySchema,
  priority: PrioritySchema.default(PRIORITY_DEFAULT),
});
export type CreateTemplateBody = z.output<typeof CreateTemplateBodySchema>;

/** `PUT /api/templates/:id`: the fields to change (at least one). */
export const UpdateTemplateBodySchema = z
  .strictObject({
    name: TemplateNameSchema.optional(),
    description: z.string().max(2000).optional(),
    prompt_template: boundedString(LIMITS.promptBytes).min(1).optional(),
    capability: CapabilitySchema.optional(),
    priority: PrioritySchema.optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "Nothing to update");
export type UpdateTemplateBody = z.output<typeof UpdateTemplateBodySchema>;

/** Values for a template's placeholders. */
export const TemplateVariablesSchema = z
  .record(TemplateVariableNameSchema, boundedString(LIMITS.promptBytes))
  .refine((vars) => Object.keys(vars).length <= TEMPLATE_VARIABLES_MAX, {
    message: `At most ${TEMPLATE_VARIABLES_MAX} variables`,
  });

/**
 * `POST /api/templates/:id/dispatch`. Every placeholder needs a value and every value a
 * placeholder: a missing or extra variable is a 422 naming it. The rest overrides the template.
 */
export const DispatchTemplateBodySchema = z.strictObject({
  variables: TemplateVariablesSchema.default({}),
  /** Defaults to the template's name. */
  title: z.string().trim().min(1).max(LIMITS.titleChars).optional(),
  priority: PrioritySchema.optional(),
  assign_to: AgentIdSchema.optional(),
  deadline: DeadlineInputSchema.optional(),
  depends_on: z
    .array(TaskIdSchema)
    .max(LIMITS.dependsOnMax)
    .refine((list) => new Set(list).size === list.length, "depends_on must not repeat a task id")
    .default([]),
  max_attempts: z.int().min(1).max(LIMITS.maxAttemptsMax).default(LIMITS.maxAttemptsDefault),
});
export type DispatchTemplateBody = z.output<typeof DispatchTemplateBodySchema>;

/** `GET /api/templates`. */
export const TemplateListResponseSchema = z.object({ templates: z.array(TemplateSchema) });
export type TemplateListResponse = z.infer<typeof TemplateListResponseSchema>;

type Piece = { text: string } | { variable: string };

const PLACEHOLDER = /\{\{|\}\}|\{([A-Za-z][A-Za-z0-9_]{0,63})\}/g;

function parseTemplate(template: string): Piece[] {
  const pieces: Piece[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const at = match.index ?? 0;
    if (at > last) pieces.push({ text: template.slice(last, at) });
    if (match[0] === "{{") pieces.push({ text: "{" });
    else if (match[0] === "}}") pieces.push({ text: "}" });
    else pieces.push({ variable: match[1] as string });
    last = at + match[0].length;
  }
  if (last < template.length) pieces.push({ text: template.slice(last) });
  return pieces;
}

/** The placeholders of a template, in order of first appearance. */
export function templateVariables(template: string): string[] {
  const seen = new Set<string>();
  for (const piece of parseTemplate(template)) if ("variable" in piece) seen.add(piece.variable);
  return [...seen];
}

/** Which variables a dispatch lacks and which it has but the template does not use. */
export function checkTemplateVariables(
  template: string,
  variables: Readonly<Record<string, string>>,
): { missing: string[]; extra: string[] } {
  const wanted = templateVariables(template);
  const given = Object.keys(variables);
  return {
    missing: wanted.filter((name) => !Object.hasOwn(variables, name)),
    extra: given.filter((name) => !wanted.includes(name)).sort(),
  };
}

/**
 * Fills in a template in one pass: a value that itself contains `{x}` is inserted verbatim, never
 * expanded again (so a variable cannot smuggle in another variable's value). Throws on a missing
 * variable; call `checkTemplateVariables` first for a friendly error.
 */
export function renderTemplate(template: string, variables: Readonly<Record<string, string>>): string {
  return parseTemplate(template)
    .map((piece) => {
      if ("text" in piece) return piece.text;
      const value = variables[piece.variable];
      if (value === undefined) throw new RangeError(`Missing template variable ${piece.variable}`);
      return value;
    })
    .join("");
}
