import { z } from "zod";

/** `GET /api/health` (unauthenticated). `degraded` when any dependency is down. */
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
});
export type HealthResponse = z.infer<typeof HealthResponseSchema>;
