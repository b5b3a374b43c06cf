import { z } from "zod";
import { ApprovalStatusSchema, EscalationStatusSchema } from "./enums";
import { AgentIdSchema, TaskIdSchema } from "./ids";
import { boundedString, LIMITS } from "./limits";
import { CursorSchema, ListLimitSchema } from "./pagination";
import { ApprovalSchema, EscalationSchema } from "./workflow";

// Request and response bodies of the approval and escalation routes (the objects are in workflow.ts).

/** Longest an approval may wait for a decision (7 days). */
export const APPROVAL_TIMEOUT_MAX_S = 7 * 24 * 3600;

/** `POST /api/approvals`: an agent asks before acting. The agent is the caller, never a body field. */
export const CreateApprovalBodySchema = z.strictObject({
  /** Short machine-readable action, e.g. `deploy`, `send_email`. */
  action: z.string().regex(/^[a-z0-9_.:-]{1,64}$/, "Expected an action matching ^[a-z0-9_.:-]{1,64}$"),
  description: boundedString(4 * 1024).default(""),
  /** Seconds until the request expires if nobody decides (default 1 hour). */
  timeout_s: z.int().min(1).max(APPROVAL_TIMEOUT_MAX_S).default(3600),
  /** The task the action belongs to, if any. */
  task_id: TaskIdSchema.optional(),
});
export type CreateApprovalBody = z.output<typeof CreateApprovalBodySchema>;

/** `PUT /api/approvals/:id`: an operator decides. */
export const DecideApprovalBodySchema = z.strictObject({
  decision: z.enum(["approved", "rejected"]),
  reason: boundedString(LIMITS.reasonBytes).optional(),
});
export type DecideApprovalBody = z.infer<typeof DecideApprovalBodySchema>;

/** `GET /api/approvals`, newest first. */
export const ListApprovalsQuerySchema = z.strictObject({
  status: ApprovalStatusSchema.optional(),
  agent: AgentIdSchema.optional(),
  cursor: CursorSchema.optional(),
  limit: ListLimitSchema,
});
export type ListApprovalsQuery = z.output<typeof ListApprovalsQuerySchema>;

export const ApprovalResponseSchema = z.object({ approval: ApprovalSchema });
export const ApprovalListResponseSchema = z.object({
  approvals: z.array(ApprovalSchema),
  next_cursor: CursorSchema.nullable(),
});
export type ApprovalListResponse = z.infer<typeof ApprovalListResponseSchema>;

/** `GET /api/escalations`, newest first. */
export const ListEscalationsQuerySchema = z.strictObject({
  status: EscalationStatusSchema.optional(),
  agent: AgentIdSchema.optional(),
  cursor: CursorSchema.optional(),
  limit: ListLimitSchema,
});
export type ListEscalationsQuery = z.output<typeof ListEscalationsQuerySchema>;

/** `PUT /api/escalations/:id`: mark it resolved, with an optional note. */
export const ResolveEscalationBodySchema = z.strictObject({
  status: z.literal("resolved").default("resolved"),
  resolution: boundedString(LIMITS.reasonBytes).optional(),
});
export type ResolveEscalationBody = z.output<typeof ResolveEscalationBodySchema>;

export const EscalationResponseSchema = z.object({ escalation: EscalationSchema });
export const EscalationListResponseSchema = z.object({
  escalations: z.array(EscalationSchema),
  next_cursor: CursorSchema.nullable(),
});
export type EscalationListResponse = z.infer<typeof EscalationListResponseSchema>;

/** Where an agent's escalations go: another agent, or the operator. */
export const EscalationTargetSchema = z.union([z.literal("operator"), AgentIdSchema]);

/** An agent's workflow settings and today's (UTC) spend, `GET/PUT /api/agents/:id/settings`. */
export const AgentSettingsSchema = z.object({
  agent_id: AgentIdSchema,
  /** `null`: the hub's default target (the operator unless configured otherwise). */
  escalation_target: EscalationTargetSchema.nullable(),
  /** Tokens per UTC day; `null`: the hub's default cap. */
  daily_token_cap: z.int().min(0).nullable(),
  /** The cap that applies (`null`: no cap). */
  effective_daily_token_cap: z.int().min(0).nullable(),
  /** Input + output tokens recorded today (UTC). */
  tokens_today: z.int().min(0),
  cost_today_usd: z.number().min(0),
  /** Over its cap: the dispatcher gives it no new work until the UTC day rolls over. */
  over_cap: z.boolean(),
});
export type AgentSettings = z.infer<typeof AgentSettingsSchema>;

/** `PUT /api/agents/:id/settings`: the fields to change (at least one); `null` restores the default. */
export const UpdateAgentSettingsBodySchema = z
  .strictObject({
    escalation_target: EscalationTargetSchema.nullable().optional(),
    daily_token_cap: z.int().min(0).max(1_000_000_000_000).nullable().optional(),
  })
  .refine((body) => Object.keys(body).length > 0, "Nothing to update");
export type UpdateAgentSettingsBody = z.infer<typeof UpdateAgentSettingsBodySchema>;
