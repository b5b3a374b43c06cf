import { createHash } from "node:crypto";
import {
  appendChunk as dbAppendChunk,
  getTask as dbGetTask,
  listTasks as dbListTasks,
  decodeTaskCursor,
  type Executor,
  encodeTaskCursor,
  hasChunk,
  insertCostRecord,
  insertDependentTask,
  insertTask,
  insertTaskIdempotent,
  listChunks,
  loadTaskRelations,
  nextAssignedTask,
  type Task as TaskRow,
  toApiTask,
  toApiTasks,
  transitionTask,
} from "@m3shd/db";
import { isJobName, readJobRequest } from "@m3shd/jobs";
import { announceRequeue, recordOutcome } from "@m3shd/lifecycle";
import {
  type CancelTaskBody,
  type CompleteTaskBody,
  type CompletionContribution,
  type CreateTaskBody,
  composeTaskPrompt,
  ForbiddenError,
  type HandoffBody,
  IllegalTransitionError,
  isM3shdError,
  type ListChunksQuery,
  type ListTasksQuery,
  type NextTaskResponse,
  NotFoundError,
  newId,
  PRIORITY_MAX,
  StaleAttemptError,
  type StreamChunk,
  type StreamChunkBody,
  type StreamChunkResponse,
  type Task,
  type TaskStatus,
  ValidationError,
} from "@m3shd/protocol";
import { contributionOf, type HubContext } from "../context";
import { audit } from "./audit";
import {
  decideValidation,
  HUB_VALIDATOR,
  recordContribution,
  updateStreak,
  verifyResultEnvelope,
} from "./contribution";
import { onTaskCancelled, onTaskHandedOff, onTaskOutcome, publishEffects } from "./dag";
import { emit } from "./events";
import { appendProvenance, provenanceLeaf } from "./provenance";

/** Statuses a task can be cancelled from. */
const CANCELLABLE: readonly TaskStatus[] = ["waiting", "queued", "assigned", "running", "relayed"];
/** Statuses in which an agent holds the task: cancelling from them leaves the holder a notice. */
const HELD: readonly TaskStatus[] = ["assigned", "running"];

function requireTask(db: Executor, id: string): TaskRow {
  const row = dbGetTask(db, id);
  if (!row) throw new NotFoundError("task", id);
  return row;
}

/** One task as the API returns it. */
export function getTask(ctx: HubContext, id: string): Task {
  const db = ctx.database.db;
  return toApiTasks(db, [requireTask(db, id)])[0] as Task;
}

/**
 * `POST /api/tasks`: write the row first (queued, or waiting on unmet parents), announce it, then
 * enqueue the dispatch job. If the enqueue is lost the reconciler finds the queued row; the event
 * is published before the job so `task_created` always precedes `task_assigned`.
 */
export async function createTask(ctx: HubContext, input: CreateTaskBody, createdBy: string): Promise<Task> {
  return (await submitTask(ctx, input, createdBy)).task;
}

/** SHA-256 of the validated request without its key: what "the same request" means for a retry. */
function requestHash(input: CreateTaskBody): string {
  const { idempotency_key: _key, ...rest } = input;
  const canonical = JSON.stringify(rest, Object.keys(rest).sort());
  return createHash("sha256").update(canonical).digest("hex");
}

/**
 * A task for a deterministic job (its capability names one, or its prompt is a job request in
 * either JSON form) must be a request the job accepts: an unknown parameter or a value out of range
 * is a 422 naming the parameter and its range now, not a failed task later.
 */
function requireValidJobPrompt(prompt: string, capability: string): void {
  const read = readJobRequest(prompt, capability);
  if (read.ok !== false) return;
  // A model task whose prompt merely looks like a job request is the model's business.
  if (!isJobName(capability)) return;
  throw new ValidationError(
    read.message,
    read.issues.map((i) => ({ path: ["prompt", ...i.path], code: "custom", message: i.message })),
  );
}

/**
 * `POST /api/tasks`. With `idempotency_key`, a repeat by the same caller returns the first task
 * with `replayed: true` — no second row, no second `task_created`, no second dispatch.
 */
export async function submitTask(
  ctx: HubContext,
  input: CreateTaskBody,
  createdBy: string,
): Promise<{ task: Task; replayed: boolean }> {
  const now = ctx.now();
  if (input.deadline !== undefined && input.deadline <= now) {
    throw new ValidationError("deadline must be in the future", [
      { path: ["deadline"], code: "too_small", message: "deadline must be in the future" },
    ]);
  }
  requireValidJobPrompt(input.prompt, input.required_capability);
  const db = ctx.database.db;
  const insert = {
    task: {
      id: newId("task"),
      title: input.title,
      prompt: input.prompt,
      requiredCapability: input.required_capability,
      priority: input.priority,
      deadline: input.deadline ?? null,
      assignTo: input.assign_to ?? null,
      maxAttempts: input.max_attempts,
      createdBy,
    },
    dependsOn: input.depends_on,
    now,
  };
  // A parent that already failed or was cancelled is refused (409): the task could never run.
  // The row, its idempotency key and its audit entry commit together; a replay writes nothing.
  const { task: row, replayed } = db.transaction(
    (tx) => {
      const result =
        input.idempotency_key === undefined
          ? { task: insertDependentTask(tx, insert), replayed: false }
          : insertTaskIdempotent(tx, {
              createdBy,
              key: input.idempotency_key,
              requestHash: requestHash(input),
              insert,
            });
      if (!result.replayed) audit(tx, ctx, "task.create", result.task.id);
      return result;
    },
    { behavior: "immediate" },
  );
  if (replayed)
    return { task: toApiTasks(db, [row])[0] ?? toApiTask(row, { dependsOn: input.depends_on }), replayed };
  const task = toApiTask(row, { dependsOn: input.depends_on });
  await emit(ctx, "task_created", { task });
  if (row.status === "queued") await ctx.queue.jobs.enqueue("dispatch.assign", { taskId: row.id });
  return { task, replayed: false };
}

/** `GET /api/tasks`: newest first, keyset-paginated. */
export function listTasks(
  ctx: HubContext,
  query: ListTasksQuery,
): { tasks: Task[]; next_cursor: string | null } {
  let cursor = null;
  if (query.cursor !== undefined) {
    cursor = decodeTaskCursor(query.cursor);
    if (!cursor) {
      throw new ValidationError("Invalid cursor", [
        { path: ["cursor"], code: "custom", message: "Invalid cursor" },
      ]);
    }
  }
  const page = dbListTasks(ctx.database.db, {
    ...(query.status ? { status: query.status } : {}),
    ...(query.agent ? { agentId: query.agent } : {}),
    ...(query.capability ? { capability: query.capability } : {}),
    ...(query.depends_on ? { dependsOn: query.depends_on } : {}),
    cursor,
    limit: query.limit,
  });
  return {
    tasks: toApiTasks(ctx.database.db, page.items),
    next_cursor: page.nextCursor ? encodeTaskCursor(page.nextCursor) : null,
  };
}

/** `POST /api/tasks/:id/cancel`. Cancelling a terminal task is a 409. */
export async function cancelTask(
  ctx: HubContext,
  id: string,
  body: CancelTaskBody,
  cancelledBy: string,
): Promise<Task> {
  const db = ctx.database.db;
  const before = requireTask(db, id);
  const reason = body.reason ?? "cancelled by operator";
  const now = ctx.now();
  // The task and its waiting descendants (fail-fast) are cancelled in one transaction.
  const { row, effects } = db.transaction(
    (tx) => {
      const cancelled = transitionTask(tx, {
        id,
        from: CANCELLABLE.includes(before.status) ? before.status : CANCELLABLE,
        to: "cancelled",
        // The holder learns of it from its next heartbeat's `cancelled` list (until it acknowledges).
        set: { cancelReason: reason, ...(HELD.includes(before.status) ? { cancelNoticeAt: now } : {}) },
        now,
      });
      const effects = onTaskCancelled(tx, ctx, { taskId: id, now });
      audit(tx, ctx, "task.cancel", id);
      return { row: cancelled, effects };
    },
    { behavior: "immediate" },
  );
  await emit(ctx, "task_cancelled", { task_id: id, reason, cancelled_by: cancelledBy, cause_task_id: null });
  await publishEffects(ctx, effects);
  return getTask(ctx, row.id);
}

/** Raises `ForbiddenError` unless `agentId` holds the task (IDOR guard for worker routes). */
export function requireAssignee(row: TaskRow, agentId: string | null): string {
  if (!agentId)
    throw new ForbiddenError("This route needs an acting agent (X-M3shd-Agent header or an agent token)");
  if (row.assignedTo !== agentId) {
    throw new ForbiddenError(`Task ${row.id} is not assigned to agent ${agentId}`, { task_id: row.id });
  }
  return agentId;
}

/**
 * Fencing: a worker write must come from the task's current attempt (lease). A write from an
 * earlier attempt (the task was reclaimed and claimed again since, e.g. by a restarted worker
 * under the same id) is refused with 409 `stale_attempt`, so a late result never lands on the
 * current execution. Checked after the assignee (a task that moved to another agent is a 403 for
 * its old holder, as before), before the status.
 */
/** A claim that lost its race (cancelled, reclaimed or reassigned meanwhile): try the next task. */
const LOST_CLAIM: ReadonlySet<string> = new Set(["illegal_transition", "stale_attempt", "forbidden"]);

export function requireCurrentAttempt(row: TaskRow, attempt: number): void {
  if (row.attempt !== attempt) throw new StaleAttemptError(row.id, attempt, row.attempt);
}

/**
 * Claims the agent's oldest assigned task (highest priority first), marks it running and opens a
 * new attempt (lease): `attempt` is one more than the task's previous one, and every write of
 * this execution must carry it. Counts one pickup in `attempts`. Returns null when the agent has
 * nothing assigned. A lost race (the task was cancelled or reclaimed in between) moves on to the
 * next candidate.
 *
 * The agent's memories are recalled here and composed into the returned `composed_prompt` (and
 * `prompt_parts.memory.text`) for this response only: they are never written to the hub's
 * database, so no other reader of the task sees them.
 */
export async function claimNextTask(ctx: HubContext, agentId: string): Promise<NextTaskResponse | null> {
  const db = ctx.database.db;
  for (let tries = 0; tries < 5; tries++) {
    const next = nextAssignedTask(db, agentId);
    if (!next) return null;
    const memory = await recallMemories(ctx, agentId, next);
    let row: TaskRow;
    try {
      // The recall awaited: the task may have been reclaimed and reassigned meanwhile, so the
      // claim holds only while it is still assigned to this agent under the attempt we read.
      row = db.transaction(
        (tx) => {
          const claimed = transitionTask(tx, {
            id: next.id,
            from: "assigned",
            to: "running",
            match: { assignedTo: agentId, attempt: next.attempt },
            set: {
              attempts: next.attempts + 1,
              attempt: next.attempt + 1,
              memoryChars: memory.chars,
              memoryStatus: memory.status,
            },
            now: ctx.now(),
          });
          if (memory.chars > 0) {
            // The injected block is prompt the agent pays for: count it against its daily token
            // budget, in the claim's transaction.
            insertCostRecord(tx, {
              id: newId("cost"),
              agentId,
              taskId: claimed.id,
              model: "memory-injection",
              inputTokens: Math.ceil(memory.chars / 4),
              outputTokens: 0,
              costUsd: 0,
              now: ctx.now(),
            });
          }
          return claimed;
        },
        { behavior: "immediate" },
      );
    } catch (err) {
      if (isM3shdError(err) && LOST_CLAIM.has(err.code)) continue;
      throw err;
    }
    await emit(ctx, "task_started", { task_id: row.id, agent_id: agentId, attempt: row.attempt });
    const rel = loadTaskRelations(db, [row.id]);
    const task = toApiTask(row, {
      dependsOn: rel.dependsOn.get(row.id) ?? [],
      continuedBy: rel.continuedBy.get(row.id) ?? null,
      ...(memory.block ? { memoryText: memory.block } : {}),
    });
    return { task, attempt: row.attempt };
  }
  return null;
}

interface RecalledMemory {
  block: string;
  chars: number;
  status: "injected" | "none" | "unavailable" | "disabled";
}

/**
 * The agent's memories for this task, as a delimited block within the configured budget. Never
 * throws and never blocks the task: if the memory service is down the task runs without memories,
 * the fact is logged and recorded on the task (`memory_status: unavailable`). The recall text is
 * the task as composed without memory (parents and handoffs included), never an earlier block.
 */
async function recallMemories(ctx: HubContext, agentId: string, task: TaskRow): Promise<RecalledMemory> {
  if (!ctx.memory) return { block: "", chars: 0, status: "disabled" };
  const composed = composeTaskPrompt({
    prompt: task.prompt,
    parents: task.parentOutputs,
    handoffs: task.handoffs,
  });
  const outcome = await ctx.memory.client.recall({
    agentId,
    text: `${task.title}\n${composed}`,
    topK: ctx.memory.topK,
    charBudget: ctx.memory.charBudget,
  });
  if (outcome.status !== "ok") {
    ctx.logger.warn(
      { taskId: task.id, agentId, reason: outcome.reason },
      "memory unavailable; task runs without memories",
    );
    return { block: "", chars: 0, status: "unavailable" };
  }
  return outcome.block
    ? { block: outcome.block, chars: outcome.block.length, status: "injected" }
    : { block: "", chars: 0, status: "none" };
}

/** `POST /api/tasks/:id/stream`: append a chunk (assigned agent, running task only). */
export async function appendChunk(
  ctx: HubContext,
  id: string,
  agentId: string | null,
  body: StreamChunkBody,
): Promise<StreamChunkResponse> {
  // Checked and written in one IMMEDIATE transaction: no other process can reclaim the task or
  // open a new attempt between the fencing check and the insert.
  const outcome = ctx.database.db.transaction(
    (tx) => {
      const row = requireTask(tx, id);
      const agent = requireAssignee(row, agentId);
      requireCurrentAttempt(row, body.attempt);
      if (row.status !== "running") throw new IllegalTransitionError(row.status, "running", id);
      // A retried POST of a chunk the hub already has for this attempt: answer as before, store nothing.
      if (body.seq !== undefined && hasChunk(tx, { taskId: id, attempt: body.attempt, seq: body.seq }))
        return { agent, seq: body.seq, duplicate: true };
      const { seq } = dbAppendChunk(tx, {
        taskId: id,
        attempt: body.attempt,
        content: body.content,
        now: ctx.now(),
      });
      return { agent, seq, duplicate: false };
    },
    { behavior: "immediate" },
  );
  const { agent, seq } = outcome;
  const attempt = body.attempt;
  if (outcome.duplicate) return { attempt, seq, duplicate: true };
  await emit(ctx, "task_chunk", { task_id: id, agent_id: agent, attempt, seq, content: body.content });
  return { attempt, seq, duplicate: false };
}

/**
 * A task's stored chunks, every attempt's kept, ordered by attempt then seq; `attempt` keeps one
 * attempt's, `after` those past a seq (within each attempt listed).
 */
export function getChunks(ctx: HubContext, id: string, query: ListChunksQuery = {}): StreamChunk[] {
  requireTask(ctx.database.db, id);
  return listChunks(ctx.database.db, {
    taskId: id,
    ...(query.attempt === undefined ? {} : { attempt: query.attempt }),
    ...(query.after === undefined ? {} : { afterSeq: query.after }),
  }).map((c) => ({ attempt: c.attempt, seq: c.seq, content: c.content }));
}

/**
 * `PUT /api/tasks/:id`: the assigned agent completes or fails its running task.
 *
 * Idempotent for the worker's spool: repeating the same completion of a task that is already `done`
 * by the same agent, attempt and output answers 200 with the task and changes nothing. A write
 * from another attempt than the current one is 409 `stale_attempt`.
 */
export async function completeTask(
  ctx: HubContext,
  id: string,
  agentId: string | null,
  body: CompleteTaskBody,
): Promise<{ task: Task; replayed: boolean; contribution?: CompletionContribution }> {
  const db = ctx.database.db;
  const row = requireTask(db, id);
  const agent = requireAssignee(row, agentId);
  requireCurrentAttempt(row, body.attempt);
  if (body.status === "done" && row.status === "done" && row.output === body.output) {
    return { task: getTask(ctx, id), replayed: true };
  }
  if (row.status !== "running") throw new IllegalTransitionError(row.status, body.status, id);
  const now = ctx.now();

  if (body.status === "done") {
    // One transaction: the result's signature is checked, it is validated, and it is done, signed,
    // logged, credited and counted together — or invalidated and requeued — or none of it.
    const settled = db.transaction(
      (tx) => {
        const verified = verifyResultEnvelope(tx, ctx, row, agent, body);
        const decision = decideValidation(tx, contributionOf(ctx), row, agent, body);
        if (decision.outcome === "invalid") {
          // The validator recomputed a different output: the result is discarded, the node's
          // streak resets, its breaker counts a failure, and the job re-runs on another node.
          const final = row.attempts >= row.maxAttempts;
          const error = `result invalid: ${decision.reason} (checked by ${HUB_VALIDATOR})`;
          const updatedRow = transitionTask(tx, {
            id,
            from: "running",
            to: final ? "failed" : "queued",
            match: { assignedTo: agent, attempt: body.attempt },
            set: {
              error,
              model: body.model ?? row.model,
              excludedAgents: [...new Set([...(row.excludedAgents ?? []), agent])],
            },
            now,
          });
          const entry = recordContribution(tx, { row, agentId: agent, body, verified, decision, now });
          updateStreak(tx, agent, row.requiredCapability, decision, now);
          const transition = recordOutcome(tx, {
            agentId: agent,
            capability: row.requiredCapability,
            success: false,
            now,
          });
          const effects = onTaskOutcome(tx, ctx, {
            task: updatedRow,
            agentId: agent,
            outcome: final ? "failed" : "retry",
            agentFault: true,
            usage: body.usage,
            model: updatedRow.model,
            costUsd: undefined,
            error,
            now,
          });
          return {
            kind: "invalid" as const,
            updated: updatedRow,
            entry,
            breaker: transition,
            effects,
            final,
            error,
          };
        }
        const updatedRow = transitionTask(tx, {
          id,
          from: "running",
          to: "done",
          match: { assignedTo: agent, attempt: body.attempt },
          set: {
            output: body.output,
            error: null,
            confidence: body.confidence ?? null,
            model: body.model ?? row.model,
            inputTokens: body.usage?.input_tokens ?? null,
            cachedInputTokens: body.usage?.cached_input_tokens ?? null,
            outputTokens: body.usage?.output_tokens ?? null,
            costUsd: body.cost_usd ?? null,
          },
          now,
        });
        const signed = appendProvenance(tx, ctx, updatedRow, body.output, now);
        const entry = recordContribution(tx, { row, agentId: agent, body, verified, decision, now });
        updateStreak(tx, agent, row.requiredCapability, decision, now);
        const transition = recordOutcome(tx, {
          agentId: agent,
          capability: row.requiredCapability,
          success: true,
          now,
        });
        // Cost, budget alert and the release of dependents commit with the result.
        const effects = onTaskOutcome(tx, ctx, {
          task: updatedRow,
          agentId: agent,
          outcome: "done",
          agentFault: false,
          usage: body.usage,
          model: updatedRow.model,
          costUsd: body.cost_usd,
          now,
        });
        return {
          kind: "done" as const,
          updated: updatedRow,
          link: signed.link,
          leafIndex: signed.leafIndex,
          entry,
          breaker: transition,
          effects,
        };
      },
      { behavior: "immediate" },
    );
    const contribution = {
      outcome: settled.entry.outcome,
      units: settled.entry.units,
      ledger_id: settled.entry.id,
    };
    if (settled.kind === "invalid") {
      await publishFailedAttempt(ctx, { ...settled, id, agent, reason: "invalid_result" });
      return { task: getTask(ctx, id), replayed: false, contribution };
    }
    const { updated, link, leafIndex, breaker, effects } = settled;
    // Committed: only now does this process's copy of the Merkle log learn of the leaf.
    const leaf = provenanceLeaf(ctx, leafIndex);
    await emit(ctx, "task_completed", {
      task_id: id,
      agent_id: agent,
      output_bytes: Buffer.byteLength(body.output, "utf8"),
      confidence: updated.confidence,
      usage: body.usage ?? null,
      model: updated.model,
      cost_usd: updated.costUsd,
    });
    await emit(ctx, "provenance_appended", {
      task_id: id,
      agent_id: agent,
      chain_index: link.seq,
      hash: link.hash,
      leaf_index: leaf.index,
      tree_size: leaf.treeSize,
      root: leaf.root,
    });
    if (breaker) await emit(ctx, "agent_breaker", breaker);
    await publishEffects(ctx, effects);
    // [REMEMBER] blocks in the output become memories, off the request path. The task row is
    // committed first, so a lost job loses at most that extraction, never the result.
    if (ctx.memory)
      await ctx.queue.jobs.enqueue("memory.extract", { taskId: id, agentId: agent, output: body.output });
    return { task: getTask(ctx, id), replayed: false, contribution };
  }

  // Failed attempt: requeue while attempts remain and the worker says a retry may help.
  const final = !body.retryable || row.attempts >= row.maxAttempts;
  const common = {
    error: body.error,
    model: body.model ?? row.model,
    inputTokens: body.usage?.input_tokens ?? row.inputTokens,
    outputTokens: body.usage?.output_tokens ?? row.outputTokens,
  };
  const { updated, breaker, effects } = db.transaction(
    (tx) => {
      const updatedRow = transitionTask(tx, {
        id,
        from: "running",
        to: final ? "failed" : "queued",
        match: { assignedTo: agent, attempt: body.attempt },
        set: common,
        now,
      });
      // A non-retryable failure is the task's fault (input the job cannot parse, a prompt the model
      // refuses), not the agent's: it must not trip a healthy agent's breaker.
      const transition = body.retryable
        ? recordOutcome(tx, { agentId: agent, capability: row.requiredCapability, success: false, now })
        : null;
      // Cost, escalation, and (on the final failure) fail-fast cancellation of dependents.
      const effects = onTaskOutcome(tx, ctx, {
        task: updatedRow,
        agentId: agent,
        outcome: final ? "failed" : "retry",
        agentFault: body.retryable,
        usage: body.usage,
        model: updatedRow.model,
        costUsd: undefined,
        error: body.error,
        now,
      });
      return { updated: updatedRow, breaker: transition, effects };
    },
    { behavior: "immediate" },
  );
  await publishFailedAttempt(ctx, {
    id,
    agent,
    error: body.error,
    updated,
    final,
    breaker,
    effects,
    reason: "retry",
  });
  return { task: getTask(ctx, id), replayed: false };
}

/**
 * After a failed attempt committed (the worker's failure, or a result the validator found invalid):
 * `task_failed`, the breaker's move, the requeue unless it was the last attempt, then the effects.
 */
async function publishFailedAttempt(
  ctx: HubContext,
  input: {
    id: string;
    agent: string;
    error: string;
    updated: TaskRow;
    final: boolean;
    breaker: ReturnType<typeof recordOutcome>;
    effects: ReturnType<typeof onTaskOutcome>;
    reason: "retry" | "invalid_result";
  },
): Promise<void> {
  const { id, agent, updated, final, breaker } = input;
  await emit(ctx, "task_failed", {
    task_id: id,
    agent_id: agent,
    error: input.error,
    attempts: updated.attempts,
    max_attempts: updated.maxAttempts,
    final,
  });
  if (breaker) await emit(ctx, "agent_breaker", breaker);
  if (!final) {
    await announceRequeue(ctx, {
      taskId: id,
      reason: input.reason,
      previousAgentId: agent,
      attempts: updated.attempts,
    });
  }
  await publishEffects(ctx, input.effects);
}

/**
 * `POST /api/tasks/:id/handoff`: suspend the running task with its partial output and create a
 * continuation (same capability, priority bumped by one). The continuation keeps the original's
 * submitted prompt and parent outputs unchanged and carries the handoff chain (earlier handoffs,
 * then this one) beside them, composed in front of the prompt at pickup. The original's memory
 * block is not carried over: memories are recalled afresh for whoever claims the continuation.
 * Both writes share one transaction.
 */
export async function handoffTask(
  ctx: HubContext,
  id: string,
  agentId: string | null,
  body: HandoffBody,
): Promise<{ suspended: Task; continuation: Task }> {
  const db = ctx.database.db;
  const row = requireTask(db, id);
  const agent = requireAssignee(row, agentId);
  requireCurrentAttempt(row, body.attempt);
  if (row.status !== "running") throw new IllegalTransitionError(row.status, "suspended", id);
  const now = ctx.now();
  const continuationId = newId("task");
  const handoffs = [...(row.handoffs ?? []), { task_id: id, partial_output: body.partial_output }];
  const { continuation } = db.transaction(
    (tx) => {
      transitionTask(tx, {
        id,
        from: "running",
        to: "suspended",
        match: { assignedTo: agent, attempt: body.attempt },
        set: { partialOutput: body.partial_output, error: body.reason ?? null },
        now,
      });
      const next = insertTask(tx, {
        task: {
          id: continuationId,
          title: row.title,
          prompt: row.prompt,
          parentOutputs: row.parentOutputs,
          handoffs,
          requiredCapability: row.requiredCapability,
          priority: Math.min(PRIORITY_MAX, row.priority + 1),
          urgency: row.urgency,
          deadline: row.deadline,
          maxAttempts: row.maxAttempts,
          continuationOf: id,
          pipelineId: row.pipelineId ?? id,
          createdBy: `agent:${agent}`,
        },
        now,
      });
      onTaskHandedOff(tx, { suspendedId: id, continuationId: next.id });
      return { continuation: next };
    },
    { behavior: "immediate" },
  );
  const suspendedTask = getTask(ctx, id);
  const continuationTask = getTask(ctx, continuation.id);
  await emit(ctx, "task_handoff", {
    task_id: id,
    agent_id: agent,
    continuation_id: continuation.id,
    reason: body.reason ?? null,
    partial_output_bytes: Buffer.byteLength(body.partial_output, "utf8"),
  });
  await emit(ctx, "task_created", { task: continuationTask });
  await ctx.queue.jobs.enqueue("dispatch.assign", { taskId: continuation.id });
  return { suspended: suspendedTask, continuation: continuationTask };
}
