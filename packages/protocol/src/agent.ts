import { z } from "zod";
import { NodeKeyIdSchema, NodeKeyStatusSchema, NodePublicKeySchema } from "./contribution";
import { AgentStatusSchema, BreakerStateSchema } from "./enums";
import { AgentIdSchema, CapabilitySchema, EpochMsSchema, TaskIdSchema } from "./ids";
import { LIMITS, utf8ByteLength } from "./limits";

/** Free-form metadata an agent registers with (OS, version, GPU…), capped when serialized. */
export const AgentMetaSchema = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  let bytes: number;
  try {
    bytes = utf8ByteLength(JSON.stringify(value));
  } catch {
    ctx.addIssue({ code: "custom", message: "meta must be JSON-serializable", input: value });
    return;
  }
  if (bytes > LIMITS.metaBytes) {
    ctx.addIssue({
      code: "too_big",
      origin: "object",
      maximum: LIMITS.metaBytes,
      inclusive: true,
      input: value,
      message: `Too big: meta must serialize to at most ${LIMITS.metaBytes} bytes (UTF-8)`,
    });
  }
});
export type AgentMeta = z.infer<typeof AgentMetaSchema>;

/** Per-agent circuit breaker as the dispatcher sees it. */
export const BreakerSchema = z.object({
  state: BreakerStateSchema,
  /** Consecutive failures; reset to 0 by a success. The breaker opens at 3. */
  failures: z.int().min(0),
  /** When the breaker last opened (ms); `null` while it has never opened since the last close. */
  opened_at: EpochMsSchema.nullable(),
});
export type Breaker = z.infer<typeof BreakerSchema>;

/** An agent (worker) as returned by `GET /api/agents` and `GET /api/agents/:id`. */
export const AgentSchema = z.object({
  id: AgentIdSchema,
  /** Display name; defaults to the id. */
  name: z.string(),
  /** Host the worker runs on, as the worker reports it. */
  machine: z.string().nullable(),
  capabilities: z.array(CapabilitySchema),
  /** Slots: tasks the agent may hold (`assigned` + `running`) at once. */
  max_concurrent: z.int().min(1).max(LIMITS.maxConcurrentMax),
  status: AgentStatusSchema,
  /** Tasks currently `assigned` or `running` on this agent, as the hub counts them. */
  active_tasks: z.int().min(0),
  /** 1-minute load average from the last heartbeat; `null` when the worker does not report it. */
  load_avg: z.number().min(0).nullable(),
  /** Provider adapter (`anthropic`, `openai`, `grok`, `openai-compatible`, `cli`, `jobs`, …). */
  provider: z.string().nullable(),
  model: z.string().nullable(),
  breaker: BreakerSchema,
  /** Last heartbeat or long-poll (ms); `null` before the first one. */
  last_seen_at: EpochMsSchema.nullable(),
  /** First registration (ms); re-registering keeps it. */
  registered_at: EpochMsSchema,
  meta: z.record(z.string(), z.unknown()),
  /**
   * The worker's last heartbeat said it takes no new work (over its load ceiling). Optional on the
   * wire so clients still read agents from hubs that predate it.
   */
  draining: z.boolean().optional(),
  /**
   * When the agent's long-poll connection closed unanswered (its worker died or was cut off) with
   * no poll open since; `null` while it polls normally. Such an agent is offered no work until it
   * polls again. Optional on the wire, like `draining`.
   */
  poll_lost_at: EpochMsSchema.nullable().optional(),
  /**
   * Operator controls (mesh control), kept across re-registrations: the only capabilities it is
   * given work for (null: no restriction), maintenance (no new work), a ceiling under its own slots.
   */
  operator: z
    .object({
      capabilities: z.array(CapabilitySchema).nullable(),
      maintenance: z.boolean(),
      max_concurrent: z.int().min(1).nullable(),
    })
    .optional(),
  /** The node's current signing key (active or pending), or null when it signs nothing. */
  node_key: z.object({ key_id: NodeKeyIdSchema, status: NodeKeyStatusSchema }).nullable().optional(),
});
export type Agent = z.infer<typeof AgentSchema>;

/** `POST /api/agents/:id/register`. Idempotent: re-registering replaces these fields. */
export const RegisterAgentBodySchema = z.strictObject({
  name: z.string().trim().min(1).max(LIMITS.nameChars).optional(),
  machine: z.string().trim().min(1).max(LIMITS.nameChars).optional(),
  /** Capabilities the agent serves; duplicates rejected. */
  capabilities: z
    .array(CapabilitySchema)
    .min(1)
    .max(LIMITS.capabilitiesMax)
    .refine((list) => new Set(list).size === list.length, "capabilities must be unique"),
  max_concurrent: z.int().min(1).max(LIMITS.maxConcurrentMax),
  provider: z
    .string()
    .regex(/^[a-z0-9_-]{1,64}$/, "Expected a provider name matching ^[a-z0-9_-]{1,64}$")
    .optional(),
  model: z.string().trim().min(1).max(LIMITS.nameChars).optional(),
  meta: AgentMetaSchema.optional(),
  /**
   * A random id the worker process picks once at start (8–64 of `A-Za-z0-9_-`). When a
   * registration names another instance than the agent's previous one, the previous process is
   * gone (a restart under the same agent id): the tasks it held are requeued at once instead of
   * waiting for the zombie sweep, and its late writes are refused by the attempt fencing.
   * Re-registering with the same instance (after a hub restart, say) requeues nothing.
   */
  instance_id: z
    .string()
    .regex(/^[A-Za-z0-9_-]{8,64}$/, "Expected 8-64 characters of A-Za-z0-9_-")
    .optional(),
  /**
   * The node's Ed25519 public key (`m3shd-worker init`). The first registration that carries one
   * binds it to the agent (pending an admin's approval when the hub requires it); a later
   * registration with another key is refused (403) until an admin rotates or revokes the bound key.
   */
  public_key: NodePublicKeySchema.optional(),
});
export type RegisterAgentBody = z.infer<typeof RegisterAgentBodySchema>;

/** `POST /api/agents/:id/heartbeat`. */
export const HeartbeatBodySchema = z.strictObject({
  /** Tasks the worker is executing right now (its own count; the hub keeps its own too). */
  active_tasks: z.int().min(0).max(LIMITS.maxConcurrentMax),
  /** 1-minute load average of the worker's machine. */
  load_avg: z.number().min(0).optional(),
  /**
   * Ids from earlier responses' `cancelled` that the worker has handled (stopped, or does not
   * run): the hub stops listing them.
   */
  cancelled_ack: z.array(TaskIdSchema).max(LIMITS.cancelledNoticesMax).optional(),
  /**
   * The worker takes no new work now (over its `--max-load` ceiling): the dispatcher assigns it
   * nothing until a heartbeat says `false`. Absent: unchanged.
   */
  draining: z.boolean().optional(),
});
export type HeartbeatBody = z.infer<typeof HeartbeatBodySchema>;

/** `GET /api/agents`. */
export const AgentListResponseSchema = z.object({ agents: z.array(AgentSchema) });
export type AgentListResponse = z.infer<typeof AgentListResponseSchema>;
