import {
  type BreakerState,
  PRIORITY_DEFAULT,
  PRIORITY_MAX,
  PRIORITY_MIN,
  TASK_STATUSES,
  URGENCIES,
} from "@m3shd/protocol";
import { sql } from "drizzle-orm";
import {
  type AnySQLiteColumn,
  check,
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
} from "drizzle-orm/sqlite-core";
import { agents } from "./agents";
import { checkAtLeast, checkBetween, checkIn, columnRef, createdAt, epochMs, timestamps } from "./columns";

/**
 * One agent the dispatcher considered. Stored in the wire shape (snake_case) so the hub can return
 * it and put it in `task_assigned` as is; mirrors protocol's `AssignmentCandidate`.
 */
export interface AssignmentCandidateRecord {
  agent_id: string;
  /** UCB score (higher wins). */
  score: number;
  free_slots: number;
  breaker: BreakerState;
  successes: number;
  failures: number;
}

/** Why the dispatcher chose what it chose (`tasks.assignment`); mirrors protocol's `Assignment`. */
export interface AssignmentRecord {
  candidates: AssignmentCandidateRecord[];
  winner: string;
  /** `assign_to` (the operator pinned the agent) or `ucb`. */
  strategy: "assign_to" | "ucb";
  /** Epoch ms. */
  decided_at: number;
}

/** One handoff a continuation carries on from; mirrors protocol's `HandoffPart`. */
export interface HandoffRecord {
  /** The suspended task. */
  task_id: string;
  partial_output: string;
}

/** A unit of work. Status changes go only through `transitionTask`. */
export const tasks = sqliteTable(
  "tasks",
  {
    id: text().primaryKey(),
    title: text().notNull(),
    prompt: text().notNull(),
    requiredCapability: text().notNull(),
    /** 1 (lowest) … 10 (highest). */
    priority: integer().notNull().default(PRIORITY_DEFAULT),
    urgency: text({ enum: URGENCIES }).notNull().default("low"),
    deadline: epochMs(),
    status: text({ enum: TASK_STATUSES }).notNull().default("queued"),
    /** Agent the operator asked for (may not be registered yet, so no FK). */
    assignTo: text(),
    /** Agent the dispatcher assigned; non-NULL exactly while `assigned`/`running` (and kept afterwards as history). */
    assignedTo: text().references(() => agents.id, { onDelete: "set null" }),
    output: text(),
    error: text(),
    attempts: integer().notNull().default(0),
    maxAttempts: integer().notNull().default(3),
    confidence: real(),
    model: text(),
    inputTokens: integer(),
    outputTokens: integer(),
    /** Input tokens served from the provider's prompt cache (a subset of `input_tokens`). */
    cachedInputTokens: integer(),
    costUsd: real(),
    assignment: text({ mode: "json" }).$type<AssignmentRecord>(),
    pipelineId: text(),
    /** The suspended task this one continues (handoff). */
    continuationOf: text().references((): AnySQLiteColumn => tasks.id, { onDelete: "set null" }),
    partialOutput: text(),
    /** Characters of memory context injected into the prompt at pickup. */
    memoryChars: integer(),
    /** Outcome of memory injection at pickup (set by the hub, e.g. `injected`, `unavailable`). */
    memoryStatus: text(),
    createdBy: text(),
    ...timestamps(),
    assignedAt: epochMs(),
    startedAt: epochMs(),
    completedAt: epochMs(),
    cancelReason: text(),
    /**
     * Set when the task was cancelled while an agent held it (`assigned`/`running`): the holder's
     * heartbeats list it in `cancelled` until the agent acknowledges it or the notice expires.
     * Cleared on acknowledgement.
     */
    cancelNoticeAt: epochMs(),
    /**
     * The current attempt (lease) number: 0 before the first claim, +1 on every claim, never
     * reset or bumped by a requeue. Worker writes (stream, complete, fail, handoff) must carry it;
     * a write with another number is a stale attempt's and is refused (fencing).
     */
    attempt: integer().notNull().default(0),
    /**
     * Prompt part: the block of parent outputs (header, one labelled section per parent, marker)
     * written when the DAG released this task. `prompt` itself is never rewritten.
     */
    parentOutputs: text(),
    /**
     * Prompt part of a continuation: the handoffs it carries on from, oldest first (each the
     * suspended task and the partial output it handed over). Composed with the prompt at pickup.
     */
    handoffs: text({ mode: "json" }).$type<HandoffRecord[]>(),
    /**
     * Agents the dispatcher must not give this task to: nodes whose result for it the validator
     * found invalid (the job re-runs elsewhere). NULL: none.
     */
    excludedAgents: text({ mode: "json" }).$type<string[]>(),
  },
  (t) => [
    checkIn("tasks_status_check", t.status, TASK_STATUSES),
    checkIn("tasks_urgency_check", t.urgency, URGENCIES),
    checkBetween("tasks_priority_check", t.priority, PRIORITY_MIN, PRIORITY_MAX),
    checkAtLeast("tasks_attempts_check", t.attempts, 0),
    checkAtLeast("tasks_max_attempts_check", t.maxAttempts, 1),
    checkBetween("tasks_confidence_check", t.confidence, 0, 1),
    // An assigned or running task always names its agent: the dispatcher's slot counting relies on it.
    check(
      "tasks_assignee_check",
      sql`${columnRef(t.status)} NOT IN ('assigned', 'running') OR ${columnRef(t.assignedTo)} IS NOT NULL`,
    ),
    // Dispatcher: next queued tasks, highest priority first, oldest first within a priority.
    index("tasks_status_priority_created_idx").on(
      t.status,
      sql`${columnRef(t.priority)} DESC`,
      t.createdAt,
      t.id,
    ),
    // Slot counting and an agent's own task list.
    // Also the long-poll's claim: an agent's assigned tasks in delivery order.
    index("tasks_assigned_to_status_idx").on(
      t.assignedTo,
      t.status,
      sql`${columnRef(t.priority)} DESC`,
      t.assignedAt,
      t.id,
    ),
    index("tasks_capability_status_idx").on(t.requiredCapability, t.status),
    // Deadline sweeper; most tasks have no deadline, so the index holds only those that do.
    index("tasks_deadline_idx")
      .on(t.deadline)
      .where(sql`${columnRef(t.deadline)} IS NOT NULL`),
    // listTasks keyset pagination on (created_at, id) descending.
    index("tasks_created_at_id_idx").on(t.createdAt, t.id),
    index("tasks_pipeline_id_idx")
      .on(t.pipelineId)
      .where(sql`${columnRef(t.pipelineId)} IS NOT NULL`),
    // Heartbeat: an agent's pending cancellation notices (few rows, so a small partial index).
    index("tasks_cancel_notice_idx")
      .on(t.assignedTo)
      .where(sql`${columnRef(t.cancelNoticeAt)} IS NOT NULL`),
    index("tasks_continuation_of_idx")
      .on(t.continuationOf)
      .where(sql`${columnRef(t.continuationOf)} IS NOT NULL`),
  ],
);

/** Dependency edges: `task_id` waits for `depends_on_id`. */
export const taskDeps = sqliteTable(
  "task_deps",
  {
    taskId: text()
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    dependsOnId: text()
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.taskId, t.dependsOnId] }),
    check("task_deps_no_self_check", sql`${columnRef(t.taskId)} <> ${columnRef(t.dependsOnId)}`),
    // Releasing children when a parent completes looks edges up by parent.
    index("task_deps_depends_on_id_idx").on(t.dependsOnId),
  ],
);

/**
 * Output streamed by the assigned agent while a task runs; `seq` starts at 0 per attempt, so a
 * retried attempt's chunks are kept beside (not merged into) the earlier attempt's.
 */
export const taskChunks = sqliteTable(
  "task_chunks",
  {
    taskId: text()
      .notNull()
      .references(() => tasks.id, { onDelete: "cascade" }),
    seq: integer().notNull(),
    content: text().notNull(),
    createdAt: createdAt(),
    /** The attempt (lease) that streamed the chunk. Rows from before attempts existed are attempt 1. */
    attempt: integer().notNull().default(1),
  },
  (t) => [
    primaryKey({ columns: [t.taskId, t.attempt, t.seq] }),
    checkAtLeast("task_chunks_seq_check", t.seq, 0),
    checkAtLeast("task_chunks_attempt_check", t.attempt, 1),
  ],
);
