/**
 * One small interface over two queue drivers: BullMQ (Redis) for split deployments and an
 * in-process driver for the embedded mode. Payloads are plain JSON; typing and validation against
 * the protocol's job catalog happen in `queues.ts`, above the drivers.
 */

/** Metadata handed to a job handler alongside the payload. */
export interface JobMeta {
  /** Job id: the caller's `jobId` when given (used for de-duplication), else generated. */
  id: string;
  /** 1 on the first delivery, incremented on each retry. */
  attempt: number;
  /** When this delivery became due (epoch ms: enqueue time plus any delay or backoff), for wait metrics. */
  dueAt?: number;
}

export type RawJobHandler = (payload: unknown, meta: JobMeta) => Promise<void>;

export interface EnqueueOptions {
  /**
   * De-duplication key: while a job with this id is waiting or delayed, adding another is a no-op.
   * Consumers must still be idempotent — the database, not the queue, is the system of record.
   */
  jobId?: string;
  /** Run no earlier than this many milliseconds from now. */
  delayMs?: number;
  /** Total tries including the first (default 3); failures back off exponentially. */
  attempts?: number;
  /** First retry delay in ms (default 200); doubles on each further retry. */
  backoffDelayMs?: number;
}

export interface ConsumeOptions {
  /** Jobs handled at once by this consumer (default 1). */
  concurrency?: number;
}

/** Thrown by a handler to say "do not retry": the payload can never succeed (e.g. fails its schema). */
export class UnrecoverableJobError extends Error {
  override name = "UnrecoverableJobError";
}

export interface QueueDriver {
  readonly kind: "bullmq" | "memory";
  enqueue(name: string, payload: unknown, opts?: EnqueueOptions): Promise<void>;
  enqueueBulk(name: string, jobs: { payload: unknown; opts?: EnqueueOptions }[]): Promise<void>;
  /** Start consuming `name`. One consumer per name per driver instance. */
  consume(name: string, handler: RawJobHandler, opts?: ConsumeOptions): void;
  /** Run `name` with `payload` every `everyMs` (idempotent: re-declaring replaces the schedule). */
  schedule(name: string, scheduleId: string, everyMs: number, payload: unknown): Promise<void>;
  /** Whether a job with this id is waiting, delayed or active. */
  hasJob(name: string, jobId: string): Promise<boolean>;
  /** Number of jobs waiting or delayed. */
  pendingCount(name: string): Promise<number>;
  /** "ok" when the backing store answers; "n/a" for the in-process driver. */
  ping(): Promise<"ok" | "down" | "n/a">;
  /** Stop consumers (letting active jobs finish) and release connections. */
  close(): Promise<void>;
}

/** Exponential backoff used by both drivers: base, 2·base, 4·base … capped at 30 s. */
export function backoffMs(attempt: number, base = 200): number {
  return Math.min(30_000, base * 2 ** Math.max(0, attempt - 1));
}
