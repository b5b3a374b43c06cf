import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import {
  backoffMs,
  type ConsumeOptions,
  type EnqueueOptions,
  type QueueDriver,
  type RawJobHandler,
  UnrecoverableJobError,
} from "./driver";

export interface BullmqDriverOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379`. */
  url: string;
  /** Key prefix; tests use a unique one per run so they never see each other's jobs. */
  prefix?: string;
  onFailed?: (name: string, jobId: string, err: unknown) => void;
  onError?: (err: unknown) => void;
}

/**
 * BullMQ driver: one BullMQ queue per job name, sharing one producer connection. Workers get
 * their own blocking connections (BullMQ duplicates them). Completed jobs are removed at once so a
 * job id can be reused for the next wake-up of the same entity.
 */
export class BullmqQueueDriver implements QueueDriver {
  readonly kind = "bullmq" as const;
  readonly #connection: Redis;
  readonly #queues = new Map<string, Queue>();
  readonly #workers = new Map<string, Worker>();
  readonly #prefix: string;

  constructor(private readonly options: BullmqDriverOptions) {
    this.#prefix = options.prefix ?? "m3shd";
    // maxRetriesPerRequest: null makes commands wait for a reconnect instead of failing while
    // Redis restarts; BullMQ requires it for the connections its workers duplicate.
    this.#connection = new Redis(options.url, { maxRetriesPerRequest: null, enableAutoPipelining: true });
    this.#connection.on("error", (err) => options.onError?.(err));
  }

  #queue(name: string): Queue {
    let q = this.#queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.#connection, prefix: this.#prefix });
      q.on("error", (err) => this.options.onError?.(err));
      this.#queues.set(name, q);
    }
    return q;
  }

  #jobOptions(opts: EnqueueOptions = {}) {
    return {
      ...(opts.jobId ? { jobId: opts.jobId } : {}),
      ...(opts.delayMs ? { delay: opts.delayMs } : {}),
      attempts: opts.attempts ?? 3,
      backoff: { type: "exponential", delay: opts.backoffDelayMs ?? backoffMs(1) },
      removeOnComplete: true,
      removeOnFail: { count: 1000 },
    };
  }

  async enqueue(name: string, payload: unknown, opts?: EnqueueOptions): Promise<void> {
    await this.#queue(name).add(name, payload, this.#jobOptions(opts));
  }

  async enqueueBulk(name: string, jobs: { payload: unknown; opts?: EnqueueOptions }[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.#queue(name).addBulk(
      jobs.map((j) => ({ name, data: j.payload, opts: this.#jobOptions(j.opts) })),
    );
  }

  consume(name: string, handler: RawJobHandler, opts: ConsumeOptions = {}): void {
    if (this.#workers.has(name)) throw new Error(`queue ${name} already has a consumer`);
    const worker = new Worker(
      name,
      async (job: Job) => {
        try {
          // Due at: creation plus its delay (a retry's backoff is not recorded by BullMQ, so a
          // retried job's wait includes its earlier attempts).
          const dueAt = job.timestamp + (job.opts.delay ?? 0);
          await handler(job.data, { id: job.id ?? "", attempt: job.attemptsMade + 1, dueAt });
        } catch (err) {
          if (err instanceof UnrecoverableJobError) throw new UnrecoverableError(err.message);
          throw err;
        }
      },
      { connection: this.#connection, prefix: this.#prefix, concurrency: Math.max(1, opts.concurrency ?? 1) },
    );
    worker.on("failed", (job, err) => {
      if (job && (job.attemptsMade >= (job.opts.attempts ?? 1) || err instanceof UnrecoverableError)) {
        this.options.onFailed?.(name, job.id ?? "", err);
      }
    });
    worker.on("error", (err) => this.options.onError?.(err));
    this.#workers.set(name, worker);
  }

  async schedule(name: string, scheduleId: string, everyMs: number, payload: unknown): Promise<void> {
    await this.#queue(name).upsertJobScheduler(scheduleId, { every: everyMs }, { name, data: payload });
  }

  async hasJob(name: string, jobId: string): Promise<boolean> {
    const job = await this.#queue(name).getJob(jobId);
    if (!job) return false;
    const state = await job.getState();
    return state === "waiting" || state === "delayed" || state === "active" || state === "prioritized";
  }

  async pendingCount(name: string): Promise<number> {
    return this.#queue(name).getJobCountByTypes("waiting", "delayed", "prioritized");
  }

  async ping(): Promise<"ok" | "down"> {
    try {
      const answer = await Promise.race([
        this.#connection.ping(),
        new Promise<string>((resolve) => setTimeout(() => resolve("timeout"), 1000).unref()),
      ]);
      return answer === "PONG" ? "ok" : "down";
    } catch {
      return "down";
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#workers.values()].map((w) => w.close()));
    await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
    this.#workers.clear();
    this.#queues.clear();
    this.#connection.disconnect();
  }
}
