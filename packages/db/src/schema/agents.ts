import { AGENT_STATUSES, BREAKER_STATES } from "@m3shd/protocol";
import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { checkAtLeast, checkIn, columnRef, createdAt, EPOCH_MS_NOW, epochMs } from "./columns";

/** A worker in the mesh. `id` is the agent's slug (`^[a-z0-9-]{1,64}$`, validated by protocol). */
export const agents = sqliteTable(
  "agents",
  {
    id: text().primaryKey(),
    name: text().notNull(),
    machine: text().notNull().default(""),
    /** Capabilities the agent advertises, e.g. `["code", "research"]`; matched with `json_each`. */
    capabilities: text({ mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    maxConcurrent: integer().notNull().default(1),
    status: text({ enum: AGENT_STATUSES }).notNull().default("offline"),
    /** Tasks the agent reported in its last heartbeat (the dispatcher counts rows for slot math). */
    activeTasks: integer().notNull().default(0),
    loadAvg: real(),
    provider: text(),
    model: text(),
    breakerState: text({ enum: BREAKER_STATES }).notNull().default("closed"),
    /** Failures counted by the circuit breaker since it last closed. */
    breakerFailures: integer().notNull().default(0),
    breakerOpenedAt: epochMs(),
    /** Consecutive failed tasks, for escalations (reset by a success). */
    consecutiveFailures: integer().notNull().default(0),
    /** Agent id or `operator` to escalate to after repeated failures. */
    escalationTarget: text(),
    /**
     * Capabilities the credential that last registered this agent may serve (an agent token's
     * binding); NULL when it was registered by an unbound credential (the master token). The
     * dispatcher intersects `capabilities` with it, so a row edited by any other path still never
     * receives work outside the token's scope.
     */
    allowedCapabilities: text({ mode: "json" }).$type<string[]>(),
    /** The worker said in its last heartbeat that it takes no new work (over `--max-load`). */
    draining: integer({ mode: "boolean" }).notNull().default(false),
    /**
     * The worker process that last registered this agent (its random `instance_id`); a
     * registration naming another one means that process is gone, and the tasks it held are
     * requeued at once. NULL: registered by a worker that sends none.
     */
    instanceId: text(),
    /**
     * When the agent's long-poll connection closed without an answer (the worker died or its link
     * dropped) and no new poll has opened since: the dispatcher offers it no work until one does.
     */
    pollLostAt: epochMs(),
    /**
     * Operator controls (mesh control, agent settings), kept across re-registrations: the only
     * capabilities it may be given work for (NULL: no restriction), maintenance (no new work), and
     * a ceiling under the worker's own slots (NULL: none).
     */
    operatorCapabilities: text({ mode: "json" }).$type<string[]>(),
    maintenance: integer({ mode: "boolean" }).notNull().default(false),
    maxConcurrentOverride: integer(),
    /** Tokens per UTC day; NULL means the hub's configured default. */
    dailyTokenCap: integer(),
    meta: text({ mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    lastSeenAt: epochMs(),
    registeredAt: integer().notNull().default(EPOCH_MS_NOW),
    updatedAt: integer().notNull().default(EPOCH_MS_NOW),
  },
  (t) => [
    checkIn("agents_status_check", t.status, AGENT_STATUSES),
    checkIn("agents_breaker_state_check", t.breakerState, BREAKER_STATES),
    checkAtLeast("agents_max_concurrent_check", t.maxConcurrent, 1),
    checkAtLeast("agents_active_tasks_check", t.activeTasks, 0),
    check("agents_capabilities_json_check", sql`json_type(${columnRef(t.capabilities)}) = 'array'`),
    index("agents_status_idx").on(t.status),
  ],
);

/** Per-agent, per-capability outcome counts: the dispatcher's UCB scores are computed from these. */
export const agentCapabilityStats = sqliteTable(
  "agent_capability_stats",
  {
    agentId: text()
      .notNull()
      .references(() => agents.id, { onDelete: "cascade" }),
    capability: text().notNull(),
    successes: integer().notNull().default(0),
    failures: integer().notNull().default(0),
    lastOutcomeAt: epochMs(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.agentId, t.capability] }),
    checkAtLeast("agent_capability_stats_successes_check", t.successes, 0),
    checkAtLeast("agent_capability_stats_failures_check", t.failures, 0),
    index("agent_capability_stats_capability_idx").on(t.capability),
  ],
);
