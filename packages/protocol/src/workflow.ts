import { z } from "zod";
import { ApprovalStatusSchema, EscalationStatusSchema } from "./enums";
import { AgentIdSchema, ApprovalIdSchema, EpochMsSchema, EscalationIdSchema, TaskIdSchema } from "./ids";

/**
 * An approval an agent requested before a risky action. Request/decision bodies arrive with the
 * workflows feature; the object is here already because `approval_*` events carry it.
 */
export const ApprovalSchema = z.object({
  id: ApprovalIdSchema,
  agent_id: AgentIdSchema,
  task_id: TaskIdSchema.nullable(),
  /** Short machine-readable action, e.g. `deploy`, `send_email`. */
  action: z.string(),
  description: z.string(),
  status: ApprovalStatusSchema,
  /** Who approved or rejected (`user:<name>`, `operator`); `null` while pending or expired. */
  decided_by: z.string().nullable(),
  decision_reason: z.string().nullable(),
  created_at: EpochMsSchema,
  /** The request auto-expires at this time (ms) if still pending. */
  expires_at: EpochMsSchema,
  decided_at: EpochMsSchema.nullable(),
});
export type Approval = z.infer<typeof ApprovalSchema>;

/** An escalation raised after an agent's consecutive failures. */
export const EscalationSchema = z.object({
  id: EscalationIdSchema,
  agent_id: AgentIdSchema,
  task_id: TaskIdSchema.nullable(),
  /** Configured target: an agent id or `operator`. */
  target: z.string(),
  reason: z.string(),
  /** Consecutive failures that triggered it. */
  failures: z.int().min(0),
  status: EscalationStatusSchema,
  created_at: EpochMsSchema,
  resolved_at: EpochMsSchema.nullable(),
  resolved_by: z.string().nullable(),
});
export type Escalation = z.infer<typeof EscalationSchema>;
