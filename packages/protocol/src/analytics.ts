import { z } from "zod";
import { AgentStatusSchema, TASK_STATUSES } from "./enums";
import { EpochMsSchema } from "./ids";

/**
 * `GET /api/admin/analytics/{tasks,costs,agents,summary}?days=N`. The window is the last `days`
 * UTC days including today: from midnight UTC `days - 1` days ago until now. Task figures count the
 * tasks *created* in the window; cost figures the `cost_log` rows written in it.
 */

export const AnalyticsQuerySchema = z.strictObject({
  days: z.coerce.number<string | number>().int().min(1).max(366).default(7),
});
export type AnalyticsQuery = z.output<typeof AnalyticsQuerySchema>;

const WindowShape = {
  days: z.int().min(1),
  /** Start of the window (ms, midnight UTC). */
  from: EpochMsSchema,
  /** End of the window: now (ms). */
  to: EpochMsSchema,
};

/** A UTC calendar day, `YYYY-MM-DD`. */
export const DaySchema = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);

const Counts = { total: z.int().min(0), done: z.int().min(0), failed: z.int().min(0) };

export const TaskAnalyticsSchema = z.object({
  ...WindowShape,
  total: z.int().min(0),
  by_status: z.record(z.enum(TASK_STATUSES), z.int().min(0)),
  /** Tasks per agent that (last) held them; never-assigned tasks are not listed. */
  by_agent: z.array(z.object({ agent_id: z.string(), ...Counts })),
  /** Every day of the window, oldest first, zeros included. */
  by_day: z.array(z.object({ day: DaySchema, ...Counts })),
  by_capability: z.array(z.object({ capability: z.string(), ...Counts })),
});
export type TaskAnalytics = z.infer<typeof TaskAnalyticsSchema>;

const Spend = {
  calls: z.int().min(0),
  input_tokens: z.int().min(0),
  output_tokens: z.int().min(0),
  cost_usd: z.number().min(0),
};

export const CostAnalyticsSchema = z.object({
  ...WindowShape,
  total: z.object(Spend),
  /** Total cost over the distinct tasks it was spent on (0 when none). */
  avg_cost_per_task_usd: z.number().min(0),
  by_agent: z.array(z.object({ agent_id: z.string(), ...Spend, avg_cost_per_task_usd: z.number().min(0) })),
  /** Every day of the window, oldest first, zeros included. */
  by_day: z.array(z.object({ day: DaySchema, ...Spend })),
});
export type CostAnalytics = z.infer<typeof CostAnalyticsSchema>;

export const AgentAnalyticsSchema = z.object({
  ...WindowShape,
  agents: z.array(
    z.object({
      agent_id: z.string(),
      status: AgentStatusSchema,
      /**
       * Share of the window (from the agent's first registration, if later) it was not in an
       * outage, 0–100 with two decimals.
       */
      uptime_pct: z.number().min(0).max(100),
      /** Outages that overlapped the window. */
      outages: z.int().min(0),
      tasks: z.object(Counts),
      /** Memories the agent holds, when the hub is wired to the memory service; otherwise `null`. */
      memories: z.int().min(0).nullable(),
    }),
  ),
});
export type AgentAnalytics = z.infer<typeof AgentAnalyticsSchema>;

export const SummaryAnalyticsSchema = z.object({
  ...WindowShape,
  tasks: z.object({
    ...Counts,
    by_status: z.record(z.enum(TASK_STATUSES), z.int().min(0)),
    /** done / (done + failed), 0–1; `null` when nothing finished. */
    success_rate: z.number().min(0).max(1).nullable(),
  }),
  costs: z.object({ ...Spend, avg_cost_per_task_usd: z.number().min(0) }),
  agents: z.object({
    total: z.int().min(0),
    online: z.int().min(0),
    busy: z.int().min(0),
    offline: z.int().min(0),
    /** Mean of the agents' uptime_pct; `null` without agents. */
    avg_uptime_pct: z.number().min(0).max(100).nullable(),
  }),
  open_escalations: z.int().min(0),
  pending_approvals: z.int().min(0),
});
export type SummaryAnalytics = z.infer<typeof SummaryAnalyticsSchema>;
