import { z } from "zod";

/**
 * Enum value arrays live here once. They feed the zod schemas below, the database CHECK
 * constraints in `@m3shd/db`, and the task state machine, so the three can never drift.
 */

/** Lifecycle of a task. See `TASK_TRANSITIONS` for the legal moves. */
export const TASK_STATUSES = [
  "waiting", // has unmet dependencies; never dispatched
  "queued", // ready; waiting for the dispatcher to find an agent
  "assigned", // the dispatcher chose an agent; not yet picked up
  "running", // delivered to the agent's long-poll
  "done",
  "failed",
  "suspended", // handed off with partial output; a continuation task carries on
  "cancelled",
  "relayed", // handed to a peer hub by federation
] as const;
export const TaskStatusSchema = z.enum(TASK_STATUSES);
export type TaskStatus = z.infer<typeof TaskStatusSchema>;

/** Terminal states: no transition leaves them. */
export const TERMINAL_TASK_STATUSES = [
  "done",
  "failed",
  "suspended",
  "cancelled",
] as const satisfies readonly TaskStatus[];

/**
 * The task state machine as data: `from → allowed targets`. Every status change in the system is a
 * conditional update checked against this table (`@m3shd/db` `transitionTask`).
 */
export const TASK_TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  waiting: ["queued", "cancelled"],
  queued: ["assigned", "cancelled", "relayed"],
  // assigned → queued: the agent went offline or the zombie sweeper reclaimed it.
  assigned: ["running", "queued", "failed", "cancelled"],
  // running → queued: retry after a failure with attempts left, or reclaimed from a dead agent.
  running: ["done", "failed", "suspended", "queued", "cancelled"],
  relayed: ["done", "failed", "cancelled", "queued"],
  done: [],
  failed: [],
  suspended: [],
  cancelled: [],
};

/** Whether `from → to` is a legal task transition. */
export function isLegalTaskTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TASK_TRANSITIONS[from].includes(to);
}

export const AGENT_STATUSES = ["online", "busy", "offline"] as const;
export const AgentStatusSchema = z.enum(AGENT_STATUSES);
export type AgentStatus = z.infer<typeof AgentStatusSchema>;

export const URGENCIES = ["low", "medium", "high", "critical"] as const;
export const UrgencySchema = z.enum(URGENCIES);
export type Urgency = z.infer<typeof UrgencySchema>;

export const BREAKER_STATES = ["closed", "open", "half_open"] as const;
export const BreakerStateSchema = z.enum(BREAKER_STATES);
export type BreakerState = z.infer<typeof BreakerStateSchema>;

export const APPROVAL_STATUSES = ["pending", "approved", "rejected", "expired"] as const;
export const ApprovalStatusSchema = z.enum(APPROVAL_STATUSES);
export type ApprovalStatus = z.infer<typeof ApprovalStatusSchema>;

export const ESCALATION_STATUSES = ["open", "resolved"] as const;
export const EscalationStatusSchema = z.enum(ESCALATION_STATUSES);
export type EscalationStatus = z.infer<typeof EscalationStatusSchema>;

export const USER_ROLES = ["admin", "user", "viewer"] as const;
export const UserRoleSchema = z.enum(USER_ROLES);
export type UserRole = z.infer<typeof UserRoleSchema>;

export const PEER_HUB_STATUSES = ["active", "disabled"] as const;
export const PeerHubStatusSchema = z.enum(PEER_HUB_STATUSES);
export type PeerHubStatus = z.infer<typeof PeerHubStatusSchema>;

/** The 17 permissions. Routes declare one of these; tokens carry a set of them. */
export const PERMISSIONS = [
  "tasks:read",
  "tasks:write",
  "tasks:stream",
  "agents:read",
  "agents:write",
  "agents:admin",
  "messages:read",
  "messages:write",
  "memory:read",
  "memory:write",
  "admin:analytics",
  "admin:webhooks",
  "admin:users",
  "admin:tokens",
  "admin:plugins",
  "admin:federation",
  "voice:dispatch",
] as const;
export const PermissionSchema = z.enum(PERMISSIONS);
export type Permission = z.infer<typeof PermissionSchema>;

/** Task priority: 1 (lowest) … 10 (highest); the dispatcher serves higher first, older first within one. */
export const PRIORITY_MIN = 1;
export const PRIORITY_MAX = 10;
export const PRIORITY_DEFAULT = 5;
