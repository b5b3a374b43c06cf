import { setTimeout as sleep } from "node:timers/promises";
import {
  backoffMs,
  type ConsumeOptions,
  type EnqueueOptions,
  type QueueDriver,
  type RawJobHandler,
  UnrecoverableJobError,
} from "./driver";

interface MemoryJob {
  id: string;
  payload: unknown;
  attempt: number;
  attempts: number;
  backoffDelayMs: number;
  runAt: number;
}

interface MemoryQueue {
  waiting: MemoryJob[];
  /** Ids waiting, delayed or active: the de-duplication set. */
  ids: Set<string>;
  handler?: RawJobHandler;
  concurrency: number;
  active: number;
  timer?: NodeJS.Timeout;
}

export interface MemoryDriverOptions {
  /** Called when a job exhausts its attempts or is unrecoverable (for logging). */
  onFailed?: (name: string, jobId: string, err: unknown) => void;
}

/**
 * In-process queue driver for the embedded mode. Jobs live in memory: a crash loses them, which
 * is acceptable only because every producer writes the database first and the dispatcher's
 * reconciler re-enqueues whatever the database says is pending.
 */
export class MemoryQueueDriver implements QueueDriver {
  readonly kind = "memory" as const;
  readonly #queues = new Map<string, MemoryQueue>();
  readonly #schedules = new Map<string, NodeJS.Timeout>();
  readonly #inflight = new Set<Promise<void>>();
  #seq = 0;
  #closed = false;

  constructor(private readonly options: MemoryDriverOptions = {}) {}

  #queue(name: string): MemoryQueue {
    let q = this.#queues.get(name);
    if (!q) {
      q = { waiting: [], ids: new Set(), concurrency: 1, active: 0 };
      this.#queues.set(name, q);
    }
    return q;
  }

  async enqueue(name: string, payload: unknown, opts: EnqueueOptions = {}): Promise<void> {
    this.#add(name, payload, opts);
  }

  async enqueueBulk(name: string, jobs: { payload: unknown; opts?: EnqueueOptions }[]): Promise<void> {
    for (const job of jobs) this.#add(name, job.payload, job.opts ?? {});
  }

  #add(name: string, payload: unknown, opts: EnqueueOptions): void {
    if (this.#closed) return;
    const q = this.#queue(name);
    const id = opts.jobId ?? `mem-${++this.#seq}`;
    if (q.ids.has(id)) return;
    q.ids.add(id);
    // Round-trip through JSON so the in-process driver sees exactly what Redis would carry.
    const copy: unknown = payload === undefined ? undefined : JSON.parse(JSON.stringify(payload));
    q.waiting.push({
      id,
      payload: copy,
      attempt: 1,
      attempts: opts.attempts ?? 3,
      backoffDelayMs: opts.backoffDelayMs ?? 200,
      runAt: Date.now() + (opts.delayMs ?? 0),
    });
    this.#pump(name);
  }

  consume(name: string, handler: RawJobHandler, opts: ConsumeOptions = {}): void {
    const q = this.#queue(name);
    if (q.handler) throw new Error(`queue ${name} already has a consumer`);
    q.handler = handler;
    q.concurrency = Math.max(1, opts.concurrency ?? 1);
    this.#pump(name);
  }

  #pump(name: string): void {
    const q = this.#queues.get(name);
    if (!q?.handler || this.#closed) return;
    const now = Date.now();
    while (q.active < q.concurrency) {
      const idx = q.waiting.findIndex((j) => j.runAt <= now);
      if (idx < 0) break;
      const [job] = q.waiting.splice(idx, 1);
      if (!job) break;
      q.active++;
      const run = this.#run(name, q, job).finally(() => {
        this.#inflight.delete(run);
        q.active--;
        this.#pump(name);
      });
      this.#inflight.add(run);
    }
    // Wake up for the earliest delayed job.
    if (q.timer) clearTimeout(q.timer);
    q.timer = undefined;
    const next = q.waiting.reduce((min, j) => Math.min(min, j.runAt), Number.POSITIVE_INFINITY);
    if (Number.isFinite(next)) {
      q.timer = setTimeout(() => this.#pump(name), Math.max(0, next - now));
      q.timer.unref();
    }
  }

  async #run(name: string, q: MemoryQueue, job: MemoryJob): Promise<void> {
    const handler = q.handler;
    if (!handler) return;
    // Yield first so enqueue() never runs a handler synchronously inside its caller.
    await Promise.resolve();
    try {
      await handler(job.payload, { id: job.id, attempt: job.attempt, dueAt: job.runAt });
      q.ids.delete(job.id);
    } catch (err) {
      if (err instanceof UnrecoverableJobError || job.attempt >= job.attempts || this.#closed) {
        q.ids.delete(job.id);
        this.options.onFailed?.(name, job.id, err);
        return;
      }
      q.waiting.push({
        ...job,
        attempt: job.attempt + 1,
        runAt: Date.now() + backoffMs(job.attempt, job.backoffDelayMs),
      });
    }
  }

  async schedule(name: string, scheduleId: string, everyMs: number, payload: unknown): Promise<void> {
    const key = `${name}:${scheduleId}`;
    const prev = this.#schedules.get(key);
    if (prev) clearInterval(prev);
    const timer = setInterval(() => this.#add(name, payload, { jobId: `sched:${key}` }), everyMs);
    timer.unref();
    this.#schedules.set(key, timer);
  }

  async hasJob(name: string, jobId: string): Promise<boolean> {
    return this.#queues.get(name)?.ids.has(jobId) ?? false;
  }

  async pendingCount(name: string): Promise<number> {
    return this.#queues.get(name)?.waiting.length ?? 0;
  }

  async ping(): Promise<"n/a"> {
    return "n/a";
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#schedules.values()) clearInterval(t);
    this.#schedules.clear();
    for (const q of this.#queues.values()) if (q.timer) clearTimeout(q.timer);
    // Let active handlers finish (bounded), as BullMQ's worker.close() does.
    await Promise.race([Promise.allSettled([...this.#inflight]), sleep(10_000)]);
  }
}
