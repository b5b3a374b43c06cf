import { JOBS, type JobName, type JobPayload, type JobPayloadInput, parseJob } from "@m3shd/protocol";
import { type ConsumeOptions, type JobMeta, type QueueDriver, UnrecoverableJobError } from "./driver";

/** One job this process handled: how long it waited after it was due, how long it ran, how it ended. */
export interface JobObservation {
  name: string;
  /** Due (enqueue + delay) → start of this delivery, in ms; null when the driver does not say. */
  waitMs: number | null;
  runMs: number;
  outcome: "ok" | "error";
}

/**
 * Typed access to the protocol's job catalog over any driver. Payloads are parsed before enqueue
 * (a producer bug fails loudly at the producer) and again on dequeue (a payload that fails its
 * schema is moved to failed, never retried). De-duplication keys and retry policy come from the
 * catalog, so every producer of a job behaves the same.
 */
export class Jobs {
  readonly #observers = new Set<(observation: JobObservation) => void>();

  constructor(readonly driver: QueueDriver) {}

  /**
   * Calls `listener` after every job this process handles (wait, run time, outcome): how metrics
   * see queue latency without the queue knowing about metrics. Returns a function that stops it.
   */
  observe(listener: (observation: JobObservation) => void): () => void {
    this.#observers.add(listener);
    return () => this.#observers.delete(listener);
  }

  #report(observation: JobObservation): void {
    for (const listener of this.#observers) {
      try {
        listener(observation);
      } catch {
        // An observer (metrics) must never fail a job.
      }
    }
  }

  #prepare<N extends JobName>(name: N, input: JobPayloadInput<N>, delayMs?: number) {
    const parsed = parseJob(name, input);
    if (!parsed.ok) throw new TypeError(parsed.message);
    const def = JOBS[name];
    const options = def.options as {
      attempts: number;
      backoff: { delayMs: number };
      dedupeKey?: (p: JobPayload<N>) => string;
    };
    return {
      payload: parsed.payload,
      opts: {
        attempts: options.attempts,
        backoffDelayMs: options.backoff.delayMs,
        ...(options.dedupeKey ? { jobId: options.dedupeKey(parsed.payload) } : {}),
        ...(delayMs ? { delayMs } : {}),
      },
    };
  }

  /** Enqueues one job (a no-op while an identical de-duplication key is pending). */
  async enqueue<N extends JobName>(name: N, input: JobPayloadInput<N>, options: { delayMs?: number } = {}) {
    const job = this.#prepare(name, input, options.delayMs);
    await this.driver.enqueue(name, job.payload, job.opts);
  }

  /** Enqueues many jobs of one kind in one round trip. */
  async enqueueMany<N extends JobName>(name: N, inputs: readonly JobPayloadInput<N>[]) {
    await this.driver.enqueueBulk(
      name,
      inputs.map((input) => this.#prepare(name, input)),
    );
  }

  /** Consumes `name`; the handler receives a validated payload. */
  consume<N extends JobName>(
    name: N,
    handler: (payload: JobPayload<N>, meta: JobMeta) => Promise<void>,
    options?: ConsumeOptions,
  ): void {
    this.driver.consume(
      name,
      async (raw, meta) => {
        const started = Date.now();
        const waitMs = meta.dueAt === undefined ? null : started - meta.dueAt;
        let outcome: JobObservation["outcome"] = "error";
        try {
          const parsed = parseJob(name, raw);
          if (!parsed.ok) throw new UnrecoverableJobError(parsed.message);
          await handler(parsed.payload, meta);
          outcome = "ok";
        } finally {
          if (this.#observers.size > 0) this.#report({ name, waitMs, runMs: Date.now() - started, outcome });
        }
      },
      options,
    );
  }

  /** Runs `name` every `everyMs` with `input` (re-declaring replaces the schedule). */
  async schedule<N extends JobName>(name: N, scheduleId: string, everyMs: number, input: JobPayloadInput<N>) {
    const parsed = parseJob(name, input);
    if (!parsed.ok) throw new TypeError(parsed.message);
    await this.driver.schedule(name, scheduleId, everyMs, parsed.payload);
  }

  /** Whether the de-duplicated job for this payload is pending or active. */
  async isPending<N extends JobName>(name: N, input: JobPayloadInput<N>): Promise<boolean> {
    const job = this.#prepare(name, input);
    return job.opts.jobId ? this.driver.hasJob(name, job.opts.jobId) : false;
  }
}
