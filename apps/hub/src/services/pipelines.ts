import { insertDependentTask, listTasks, type Task as TaskRow, toApiTasks } from "@m3shd/db";
import {
  ConflictError,
  type CreatePipelineBody,
  NotFoundError,
  newId,
  type PipelineResponse,
  type PipelineStep,
  ValidationError,
} from "@m3shd/protocol";
import type { HubContext } from "../context";
import { audited } from "./audit";
import { emit } from "./events";
import { renderTemplatePrompt, resolveTemplate } from "./templates";

interface PlannedStep {
  index: number;
  name: string;
  step: PipelineStep;
  /** Names of the steps it waits for. */
  parents: string[];
}

/**
 * Orders the steps so every step comes after its parents (Kahn's algorithm, stable: among ready
 * steps, the earliest given goes first). A cycle is a 409 naming the steps on it.
 */
function topologicalOrder(steps: PlannedStep[]): PlannedStep[] {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const indegree = new Map(steps.map((s) => [s.name, s.parents.length]));
  const children = new Map<string, string[]>();
  for (const s of steps) for (const p of s.parents) children.set(p, [...(children.get(p) ?? []), s.name]);
  const ready = steps.filter((s) => s.parents.length === 0).map((s) => s.index);
  const order: PlannedStep[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const next = steps[ready.shift() as number] as PlannedStep;
    order.push(next);
    for (const child of children.get(next.name) ?? []) {
      const left = (indegree.get(child) ?? 0) - 1;
      indegree.set(child, left);
      if (left === 0) ready.push((byName.get(child) as PlannedStep).index);
    }
  }
  if (order.length === steps.length) return order;
  // Every step left over lies on or behind a cycle: walk parents until a name repeats.
  const left = new Set(steps.filter((s) => !order.includes(s)).map((s) => s.name));
  let at = [...left][0] as string;
  const path: string[] = [];
  while (!path.includes(at)) {
    path.push(at);
    at = (byName.get(at)?.parents.find((p) => left.has(p)) ?? at) as string;
  }
  const cycle = [...path.slice(path.indexOf(at)), at];
  throw new ConflictError(`Dependency cycle between pipeline steps: ${cycle.join(" → ")}`, {
    reason: "cycle",
    cycle,
  });
}

/**
 * `POST /api/pipelines`: every step becomes a task in ONE transaction (all or nothing), inserted in
 * topological order with the same `pipeline_id`, so their signed results chain together. Roots are
 * `queued`; the rest `waiting` until their parents are done, then released with their outputs.
 *
 * No database cycle check is needed here: the step graph was checked above, and an edge from a new
 * task can only point at a task inserted before it (or an existing task, which cannot depend on a
 * task that did not exist yet).
 */
export async function createPipeline(
  ctx: HubContext,
  body: CreatePipelineBody,
  createdBy: string,
): Promise<PipelineResponse> {
  const now = ctx.now();
  const db = ctx.database.db;
  const names = body.steps.map((step, index) => step.name ?? `step-${index + 1}`);
  const planned: PlannedStep[] = body.steps.map((step, index) => ({
    index,
    name: names[index] as string,
    step,
    parents:
      body.mode === "sequential"
        ? index === 0
          ? []
          : [names[index - 1] as string]
        : (step.depends_on ?? []),
  }));
  const order = topologicalOrder(planned);

  // Resolve templates and check deadlines before writing anything.
  const resolved = planned.map(({ step, index }) => {
    if (step.deadline !== undefined && step.deadline <= now) {
      throw new ValidationError("deadline must be in the future", [
        { path: ["steps", index, "deadline"], code: "too_small", message: "deadline must be in the future" },
      ]);
    }
    if (step.template === undefined) {
      return {
        title: step.title as string,
        prompt: step.prompt as string,
        capability: step.required_capability as string,
        priority: step.priority,
      };
    }
    const template = resolveTemplate(db, step.template);
    return {
      title: step.title ?? template.name,
      prompt: renderTemplatePrompt(template, step.variables ?? {}, ["steps", index, "variables"]),
      capability: step.required_capability ?? template.capability,
      priority: step.priority ?? template.priority,
    };
  });

  const pipelineId = newId("pipe");
  const ids = new Map<string, string>();
  const rows: TaskRow[] = audited(
    ctx,
    "pipeline.create",
    (tx) =>
      order.map(({ index, name, step, parents }) => {
        const spec = resolved[index] as (typeof resolved)[number];
        const id = newId("task");
        ids.set(name, id);
        const dependsOn = [...parents.map((p) => ids.get(p) as string), ...(step.after ?? [])];
        return insertDependentTask(tx, {
          task: {
            id,
            title: spec.title,
            prompt: spec.prompt,
            requiredCapability: spec.capability,
            ...(spec.priority !== undefined ? { priority: spec.priority } : {}),
            deadline: step.deadline ?? null,
            assignTo: step.assign_to ?? null,
            ...(step.max_attempts !== undefined ? { maxAttempts: step.max_attempts } : {}),
            pipelineId,
            createdBy,
          },
          // A missing `after` task (404) or one that failed (409) rolls the whole pipeline back.
          dependsOn,
          now,
        });
      }),
    () => pipelineId,
  );

  const tasks = toApiTasks(db, rows);
  for (const task of tasks) await emit(ctx, "task_created", { task });
  const queued = rows.filter((r) => r.status === "queued").map((r) => ({ taskId: r.id }));
  if (queued.length > 0) await ctx.queue.jobs.enqueueMany("dispatch.assign", queued);
  return {
    pipeline_id: pipelineId,
    steps: planned.map((p) => ({ name: p.name, task_id: ids.get(p.name) as string })),
    tasks,
  };
}

/** `GET /api/pipelines/:id`: the pipeline's tasks (with any handoff continuations), oldest first. */
export function getPipeline(ctx: HubContext, pipelineId: string): PipelineResponse {
  const db = ctx.database.db;
  const page = listTasks(db, { pipelineId, limit: 500 });
  if (page.items.length === 0) throw new NotFoundError("pipeline", pipelineId);
  return { pipeline_id: pipelineId, steps: [], tasks: toApiTasks(db, [...page.items].reverse()) };
}
