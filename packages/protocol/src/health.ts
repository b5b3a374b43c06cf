import { z } from "zod";
import { SweepKindSchema } from "./jobs";

/** One dispatcher sweep as health reports it (read from the database, so split mode sees it too). */
export const SweeperStatusSchema = z.object({
  kind: SweepKindSchema,
  /** When its last run finished (epoch ms); null when none has yet. */
  last_run_at: z.number().int().nullable(),
  /** The interval the dispatcher runs it at. */
  every_ms: z.number().int().min(0),
  /** Nothing finished for three intervals (and at least 10 s): the sweep has stopped. */
  overdue: z.boolean(),
  /** The last run's error, cleared by the next success. */
  last_error: z.string().nullable(),
});
export type SweeperStatus = z.infer<typeof SweeperStatusSchema>;

/**
 * `GET /api/health` (unauthenticated). `degraded` when any dependency is down or any dispatcher
 * sweep is overdue.
 */
export const HealthResponseSchema = z.object({
  status: z.enum(["ok", "degraded"]),
  db: z.enum(["ok", "down"]),
  queue: z.object({
    driver: z.enum(["bullmq", "memory"]),
    /** `n/a` with the in-process driver (no `REDIS_URL`). */
    redis: z.enum(["ok", "down", "n/a"]),
  }),
  version: z.string(),
  uptime_s: z.number().min(0),
  /** Every sweep a dispatcher has run against this database (none before the first one starts). */
  sweepers: z.array(SweeperStatusSchema),
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;
