import {
  type Agent as AgentRow,
  listAgents as dbListAgents,
  listTemplates as dbListTemplates,
  type TemplateRow,
  updateAgent,
} from "@m3shd/db";
import {
  type CONTROL_WINDOWS,
  type CreateTaskBody,
  CreateTaskBodySchema,
  checkTemplateVariables,
  LIMITS,
  type MeshControlBody,
  type MeshControlResponse,
  type MeshOperation,
  MeshOperationSchema,
  NotFoundError,
  renderTemplate,
  templateVariables,
  ValidationError,
  type VoiceDispatchBody,
  type VoiceDispatchResponse,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import { getAgent } from "./agents";
import { audited } from "./audit";
import { emit } from "./events";
import { submitTask } from "./tasks";

// ---------------------------------------------------------------------------------------------
// Voice dispatch: a sentence → a template and its variables → a task.
// ---------------------------------------------------------------------------------------------

/**
 * Extra ways to say the seed templates' names. Any template is also matched by its own name and,
 * for a multi-word name, by its last word ("review" for "Code Review").
 */
const ALIASES: Readonly<Record<string, readonly string[]>> = {
  research: ["look up", "look into", "investigate", "find out about", "research into"],
  summarize: ["summarise", "sum up", "summary of"],
  qa: ["quality check", "quality-check", "check"],
  "code review": ["review the code in", "review"],
  write: ["write about", "write up", "draft"],
};

/** Filler a spoken request starts or ends with ("hey mesh, please … thanks"). */
function normalize(text: string): string {
  let t = text
    .trim()
    .replace(/[.!?]+$/u, "")
    .trim();
  t = t.replace(/^(?:hey|ok|okay|hi)\b[\s,]*/iu, "");
  t = t.replace(/^(?:m3shd|mesh)\b[\s,:]*/iu, "");
  t = t.replace(/^(?:please|can you|could you|would you|i want you to|go and|go)\b[\s,]*/iu, "");
  t = t.replace(/[\s,]+(?:please|thanks|thank you)$/iu, "");
  return t.trim();
}

function phrasesOf(template: TemplateRow): string[] {
  const name = template.name.toLowerCase().trim();
  const words = name.split(/\s+/);
  const out = new Set([name, ...(ALIASES[name] ?? [])]);
  if (words.length > 1) out.add(words[words.length - 1] as string);
  return [...out].sort((a, b) => b.length - a.length);
}

/** `key=value` / `key: value` pairs, separated by commas, semicolons or " and ". */
function pairs(rest: string, names: readonly string[]): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const part of rest.split(/\s*(?:,|;|\band\b)\s*/iu)) {
    const m = /^([A-Za-z][A-Za-z0-9_]*)\s*(?:=|:)\s*(.+)$/u.exec(part.trim());
    if (!m) continue;
    const key = names.find((n) => n.toLowerCase() === (m[1] as string).toLowerCase());
    if (key) out[key] = (m[2] as string).replace(/^["']|["']$/gu, "").trim();
  }
  return names.every((n) => out[n]) ? out : null;
}

export interface TemplateMatch {
  template: TemplateRow;
  variables: Record<string, string>;
}

/**
 * The deterministic matcher: the longest template name or alias the sentence starts with (at a
 * word boundary); the rest fills the template's one placeholder, or `name=value` pairs fill
 * several. Null when nothing fits.
 */
export function matchTemplate(templates: readonly TemplateRow[], text: string): TemplateMatch | null {
  const said = normalize(text);
  const lower = said.toLowerCase();
  let best: { match: TemplateMatch; length: number } | null = null;
  for (const template of templates) {
    const names = templateVariables(template.promptTemplate);
    for (const phrase of phrasesOf(template)) {
      if (!lower.startsWith(phrase)) continue;
      const next = lower.charAt(phrase.length);
      if (next !== "" && !/[\s:,]/u.test(next)) continue;
      const rest = said
        .slice(phrase.length)
        .replace(/^[\s:,]+/u, "")
        .replace(/^(?:about|on|of)\s+/iu, "")
        .trim();
      let variables: Record<string, string> | null;
      if (names.length === 0) variables = {};
      else if (names.length === 1) variables = rest ? { [names[0] as string]: rest } : null;
      else variables = pairs(rest, names);
      if (variables && (!best || phrase.length > best.length))
        best = { match: { template, variables }, length: phrase.length };
      break; // phrases are longest first
    }
  }
  return best?.match ?? null;
}

/** The first JSON object in a model's answer. */
function firstJsonObject(text: string): unknown {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start < 0 || end <= start) return null;
  try {
    return JSON.parse(text.slice(start, end + 1));
  } catch {
    return null;
  }
}

async function modelMatch(ctx: HubContext, templates: readonly TemplateRow[], text: string) {
  const interpreter = ctx.config.interpreter;
  if (!interpreter) return null;
  const catalog = templates.map((t) => ({
    id: t.id,
    name: t.name,
    description: t.description,
    variables: templateVariables(t.promptTemplate),
  }));
  const answer = await interpreter.run({
    system:
      'You map a spoken request to one task template. Answer with JSON only: {"template_id": "...", "variables": {"name": "value"}} using exactly the template\'s variables, or {"none": true} when no template fits.',
    prompt: `Templates: ${JSON.stringify(catalog)}\nRequest: ${JSON.stringify(text)}`,
  });
  const parsed = firstJsonObject(answer.output) as { template_id?: unknown; variables?: unknown } | null;
  if (!parsed || typeof parsed.template_id !== "string") return null;
  const template = templates.find((t) => t.id === parsed.template_id);
  if (!template || typeof parsed.variables !== "object" || parsed.variables === null) return null;
  const variables: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed.variables as Record<string, unknown>))
    if (typeof v === "string") variables[k] = v.slice(0, 2000);
  const { missing, extra } = checkTemplateVariables(template.promptTemplate, variables);
  return missing.length === 0 && extra.length === 0 ? { template, variables } : null;
}

/** `POST /api/voice/dispatch`. */
export async function voiceDispatch(
  ctx: HubContext,
  body: VoiceDispatchBody,
  createdBy: string,
): Promise<{ status: 200 | 201; body: VoiceDispatchResponse }> {
  const templates = dbListTemplates(ctx.database.db);
  let matchedBy: "pattern" | "model" = "pattern";
  let match: TemplateMatch | null = matchTemplate(templates, body.text);
  if (!match) {
    match = await modelMatch(ctx, templates, body.text);
    matchedBy = "model";
  }
  if (!match) {
    const examples = templates
      .slice(0, 3)
      .map((t) => `"${t.name.toLowerCase()} <${templateVariables(t.promptTemplate)[0] ?? "…"}>"`)
      .join(", ");
    throw new ValidationError(`No template matches that. Try ${examples || "creating a template first"}.`);
  }
  const { template, variables } = match;
  const summary = Object.values(variables).join(", ");
  const spoken = `${template.name}${summary ? `: ${summary}` : ""}`;
  const understood = {
    template: { id: template.id as VoiceDispatchResponse["template"]["id"], name: template.name },
    variables,
    matched_by: matchedBy,
  };
  if (body.dry_run)
    return { status: 200, body: { ...understood, task: null, reply: `I would dispatch ${spoken}.` } };
  const input: CreateTaskBody = CreateTaskBodySchema.parse({
    title: template.name,
    prompt: renderTemplate(template.promptTemplate, variables),
    required_capability: template.capability,
    priority: template.priority,
  });
  const { task } = await submitTask(ctx, input, createdBy);
  return { status: 201, body: { ...understood, task, reply: `Dispatched ${spoken}.` } };
}

// ---------------------------------------------------------------------------------------------
// Mesh control: a sentence → one operation from a closed set → applied on confirmation.
// ---------------------------------------------------------------------------------------------

const SUPPORTED =
  'Supported: "move <agent> to <capability> only", "let <agent> take any work again", "take <agent> offline for maintenance", "bring <agent> back", "set <agent> max concurrent to <n>", "how many tasks has <agent> completed this week".';

/** An agent named by id or display name (case-insensitive). */
function resolveAgent(agents: readonly AgentRow[], name: string): string {
  const n = name.toLowerCase().replace(/['’]s$/u, "");
  const found = agents.find((a) => a.id === n) ?? agents.find((a) => a.name.toLowerCase() === n);
  if (!found) throw new NotFoundError("agent", n);
  return found.id;
}

/** A spoken capability ("code-review", "code review") as the fleet spells it. */
function resolveCapability(agents: readonly AgentRow[], said: string): string {
  const raw = said.trim().toLowerCase();
  const known = new Set(agents.flatMap((a) => a.capabilities));
  const candidates = [raw, raw.replace(/[\s-]+/gu, "_"), raw.replace(/[\s_]+/gu, "-")];
  return candidates.find((c) => known.has(c)) ?? (candidates[1] as string);
}

/**
 * The deterministic phrasings. Returns null when none fits (the model may try next); throws 404
 * when the sentence fits but names an agent the mesh does not have.
 */
export function parseControl(agents: readonly AgentRow[], text: string): MeshOperation | null {
  const t = normalize(text);
  let m = /^(?:move|switch|put|restrict|limit)\s+(\S+)\s+to\s+(.+?)\s+(?:work\s+)?only$/iu.exec(t);
  if (m) {
    const caps = (m[2] as string).split(/\s*(?:,|\/|\band\b)\s*/iu).filter(Boolean);
    return {
      op: "restrict_capabilities",
      agent: resolveAgent(agents, m[1] as string),
      capabilities: [...new Set(caps.map((c) => resolveCapability(agents, c)))],
    };
  }
  m =
    /^(?:let|allow)\s+(\S+)\s+(?:take|do|have)\s+any\s*(?:work|thing|tasks?)?(?:\s+again)?$/iu.exec(t) ??
    /^(?:clear|lift|remove)\s+(\S+?)(?:['’]s)?\s+restrictions?$/iu.exec(t);
  if (m) return { op: "clear_restriction", agent: resolveAgent(agents, m[1] as string) };
  m =
    /^(?:take|put|send)\s+(\S+)\s+(?:offline|out of service|down|into maintenance|in maintenance)(?:\s+for\s+maintenance)?$/iu.exec(
      t,
    );
  if (m) return { op: "set_maintenance", agent: resolveAgent(agents, m[1] as string), maintenance: true };
  m =
    /^(?:bring|put)\s+(\S+)\s+back(?:\s+online)?$/iu.exec(t) ??
    /^take\s+(\S+)\s+out\s+of\s+maintenance$/iu.exec(t);
  if (m) return { op: "set_maintenance", agent: resolveAgent(agents, m[1] as string), maintenance: false };
  m = /^set\s+(\S+?)(?:['’]s)?\s+max(?:imum)?[\s_-]*concurren(?:t|cy)(?:\s+tasks)?\s+to\s+(\d{1,3})$/iu.exec(
    t,
  );
  if (m) {
    const n = Number(m[2]);
    if (n < 1 || n > LIMITS.maxConcurrentMax)
      throw new ValidationError(`max concurrent must be 1-${LIMITS.maxConcurrentMax}`);
    return { op: "set_max_concurrent", agent: resolveAgent(agents, m[1] as string), max_concurrent: n };
  }
  m =
    /^how many tasks (?:has|have|did)\s+(\S+)\s+(completed?|finished?|done|failed?)(?:\s+(today|this week|this month|in total|ever|so far))?$/iu.exec(
      t,
    );
  if (m) {
    const verb = (m[2] as string).toLowerCase();
    const when = (m[3] ?? "in total").toLowerCase();
    const window =
      when === "today" ? "today" : when === "this week" ? "week" : when === "this month" ? "month" : "all";
    return {
      op: "count_tasks",
      agent: resolveAgent(agents, m[1] as string),
      status: verb.startsWith("fail") ? "failed" : "done",
      window: window as (typeof CONTROL_WINDOWS)[number],
    };
  }
  return null;
}

async function modelControl(ctx: HubContext, text: string): Promise<MeshOperation | null> {
  const interpreter = ctx.config.interpreter;
  if (!interpreter) return null;
  const answer = await interpreter.run({
    system: `You turn an operator's sentence into exactly one mesh operation, as JSON only. Allowed: {"op":"restrict_capabilities","agent","capabilities":[...]}, {"op":"clear_restriction","agent"}, {"op":"set_maintenance","agent","maintenance":bool}, {"op":"set_max_concurrent","agent","max_concurrent":n}, {"op":"count_tasks","agent","status","window":"today|week|month|all"}. Anything else: {"op":"unsupported"}.`,
    prompt: text,
  });
  const parsed = MeshOperationSchema.safeParse(firstJsonObject(answer.output));
  return parsed.success ? parsed.data : null;
}

function windowStart(window: (typeof CONTROL_WINDOWS)[number], now: number): number {
  const day = 86_400_000;
  if (window === "today") return Math.floor(now / day) * day;
  if (window === "week") return now - 7 * day;
  if (window === "month") return now - 30 * day;
  return 0;
}

function describe(op: MeshOperation): string {
  switch (op.op) {
    case "restrict_capabilities":
      return `${op.agent} takes only ${op.capabilities.join(", ")} work`;
    case "clear_restriction":
      return `${op.agent} takes any work it serves again`;
    case "set_maintenance":
      return op.maintenance
        ? `${op.agent} goes into maintenance (no new work)`
        : `${op.agent} comes back from maintenance`;
    case "set_max_concurrent":
      return `${op.agent} runs at most ${op.max_concurrent} tasks at once`;
    case "count_tasks":
      return `count ${op.agent}'s ${op.status} tasks (${op.window})`;
  }
}

/** `POST /api/mesh/control`. */
export async function meshControl(ctx: HubContext, body: MeshControlBody): Promise<MeshControlResponse> {
  const db = ctx.database.db;
  const agents = dbListAgents(db);
  let operation: MeshOperation | null = body.operation ?? null;
  let by: MeshControlResponse["interpreted_by"] = "given";
  if (!operation && body.text !== undefined) {
    operation = parseControl(agents, body.text);
    by = "parser";
    if (!operation) {
      operation = await modelControl(ctx, body.text);
      by = "model";
    }
  }
  if (!operation) throw new ValidationError(`That is not something mesh control does. ${SUPPORTED}`);
  // A given (or model-read) operation names an agent id: it must exist.
  if (!agents.some((a) => a.id === operation.agent)) throw new NotFoundError("agent", operation.agent);

  if (operation.op === "count_tasks") {
    const since = windowStart(operation.window, ctx.now());
    const row = ctx.database.sqlite
      .prepare(
        "SELECT COUNT(*) AS n FROM tasks WHERE assigned_to = ? AND status = ? AND COALESCE(completed_at, updated_at) >= ?",
      )
      .get(operation.agent, operation.status, since) as { n: number };
    return {
      operation,
      interpreted_by: by,
      applied: true,
      count: row.n,
      summary: `${operation.agent} has ${row.n} ${operation.status} task${row.n === 1 ? "" : "s"} (${operation.window}).`,
    };
  }
  if (body.dry_run) {
    return {
      operation,
      interpreted_by: by,
      applied: false,
      summary: `Would apply: ${describe(operation)}. Send this operation with dry_run false to apply it.`,
    };
  }
  const now = ctx.now();
  const set =
    operation.op === "restrict_capabilities"
      ? { operatorCapabilities: [...operation.capabilities].sort() }
      : operation.op === "clear_restriction"
        ? { operatorCapabilities: null }
        : operation.op === "set_maintenance"
          ? { maintenance: operation.maintenance }
          : { maxConcurrentOverride: operation.max_concurrent };
  const target = operation.agent;
  audited(
    ctx,
    "agent.control",
    (tx) => updateAgent(tx, { id: target, set, now }),
    () => target,
  );
  const agent = await getAgent(ctx, target);
  // Capacity may have appeared (a lifted restriction, the end of maintenance, more slots): the
  // dispatcher listens for this. A new restriction or maintenance needs no pass.
  const frees =
    operation.op === "clear_restriction" ||
    operation.op === "set_max_concurrent" ||
    (operation.op === "set_maintenance" && !operation.maintenance);
  if (frees) await emit(ctx, "agent_online", { agent });
  return { operation, interpreted_by: by, applied: true, agent, summary: `Applied: ${describe(operation)}.` };
}
