/** A parked long-poll. Arm it before checking the database, so a wake-up can never fall in between. */
export interface ArmedWaiter {
  /** Resolves true when woken, false on timeout or abort. */
  promise: Promise<boolean>;
  /** Stop waiting (idempotent). */
  cancel(): void;
}

/**
 * Long-poll waiters, per agent. `GET /api/agents/:id/tasks/next?wait=N` parks here; when the
 * dispatcher's `task_assigned` event for that agent arrives (from any process, via the bus), one
 * waiter is woken at once and claims the task. At most `maxPerAgent` parked polls per agent.
 */
export class Waiters {
  readonly #byAgent = new Map<string, Set<(woken: boolean) => void>>();
  #closed = false;

  constructor(private readonly maxPerAgent = 256) {}

  /** Parks a waiter for `agentId` for up to `ms` (or until `signal` aborts). */
  arm(agentId: string, ms: number, signal?: AbortSignal): ArmedWaiter {
    let set = this.#byAgent.get(agentId);
    if (!set) {
      set = new Set();
      this.#byAgent.set(agentId, set);
    }
    const agentSet = set;
    if (this.#closed || agentSet.size >= this.maxPerAgent || signal?.aborted) {
      return { promise: Promise.resolve(false), cancel() {} };
    }
    let finish: (woken: boolean) => void = () => {};
    const promise = new Promise<boolean>((resolve) => {
      let done = false;
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), ms);
      finish = (woken: boolean) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        agentSet.delete(finish);
        if (agentSet.size === 0 && this.#byAgent.get(agentId) === agentSet) this.#byAgent.delete(agentId);
        resolve(woken);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    agentSet.add(finish);
    return { promise, cancel: () => finish(false) };
  }

  /** Wakes the agent's oldest waiter; returns whether one was parked. */
  wakeOne(agentId: string): boolean {
    const first = this.#byAgent.get(agentId)?.values().next();
    if (!first || first.done) return false;
    first.value(true);
    return true;
  }

  /** Shutdown: releases every parked waiter and refuses new ones, so long-polls answer at once. */
  close(): void {
    this.#closed = true;
    for (const set of [...this.#byAgent.values()]) for (const w of [...set]) w(false);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Parked waiters, for one agent or in total. */
  count(agentId?: string): number {
    if (agentId) return this.#byAgent.get(agentId)?.size ?? 0;
    let n = 0;
    for (const s of this.#byAgent.values()) n += s.size;
    return n;
  }
}
