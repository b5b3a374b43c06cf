import { type Task, type TaskStatus, TERMINAL_TASK_STATUSES } from "@m3shd/protocol";
import type { MeshPort } from "./port";

/**
 * The longest `await_task` holds a call. The TypeScript SDK's client rejects a request at 60 s
 * (`DEFAULT_REQUEST_TIMEOUT_MSEC`), and progress does not reset that timer unless the client opts
 * in, so a wait must end well before it: at 50 s it answers "still running" with the state.
 */
export const AWAIT_MAX_MS = 50_000;

const TERMINAL: ReadonlySet<TaskStatus> = new Set(TERMINAL_TASK_STATUSES);

/** Whether a task has ended (done, failed, suspended into a continuation, or cancelled). */
export function isFinished(status: TaskStatus): boolean {
  return TERMINAL.has(status);
}

/** One progress step: a state change or a streamed chunk. */
export interface ProgressStep {
  /** Strictly increasing, as MCP progress requires. */
  progress: number;
  message: string;
}

/**
 * Time as `awaitTask` sees it. Production uses the system clock; tests pass a virtual one so the
 * 50 s ceiling can be shown in milliseconds. The ceiling itself is not part of the clock.
 */
export interface AwaitClock {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const SYSTEM_CLOCK: AwaitClock = { now: () => Date.now(), sleep };

export interface AwaitOptions {
  /** How long to wait at most; clamped to `AWAIT_MAX_MS` here, whatever the caller asks. */
  maxMs: number;
  /** How often to look at the task while it runs. */
  pollMs: number;
  signal?: AbortSignal;
  /** Called for each state change and streamed chunk; when absent no chunks are fetched. */
  onProgress?: (step: ProgressStep) => Promise<void> | void;
  /** Default: the system clock. */
  clock?: AwaitClock;
}

export interface AwaitResult {
  /** `finished`: the task ended; `still_running`: the wait ran out first — call again. */
  state: "finished" | "still_running";
  task: Task;
  waited_ms: number;
}

/** Pause between the last progress step and the result (see `awaitTask`). */
const PROGRESS_FLUSH_MS = 25;

/** Longest chunk text put in one progress message (the whole output is in the task). */
const CHUNK_MESSAGE_MAX = 2000;

/** A state change as a progress message; a retry names its attempt, so restarted output is explained. */
function stateMessage(task: Task): string {
  return task.attempt > 1 && !isFinished(task.status)
    ? `${task.id} is ${task.status} (attempt ${task.attempt})`
    : `${task.id} is ${task.status}`;
}

/**
 * Follows a task until it ends or `maxMs` passes, reporting state changes and streamed chunks.
 * Polls through the port, so every read is the caller's own (RBAC-checked) request.
 *
 * Chunks are followed per attempt: `seq` restarts at 0 on every attempt (lease), so one cursor
 * across attempts would skip a retry's first chunks. An attempt older than the task's current one
 * is fenced at the hub (its writes are refused as `stale_attempt`), so once it has been read after
 * the task moved on, it is complete and never read again.
 */
export async function awaitTask(port: MeshPort, id: string, options: AwaitOptions): Promise<AwaitResult> {
  const clock = options.clock ?? SYSTEM_CLOCK;
  const started = clock.now();
  // Enforced here, not only by the tool's schema and the server's options: no configuration can
  // make a call outlive the client's 60 s request timeout.
  const maxMs = Math.max(0, Math.min(options.maxMs, AWAIT_MAX_MS));
  const report = options.onProgress;
  let progress = 0;
  let lastState: string | null = null;
  /** The oldest attempt whose chunks may still grow; attempts are numbered from 1. */
  let openAttempt = 1;
  /** Per attempt, the last `seq` reported. */
  const cursor = new Map<number, number>();

  async function step(message: string) {
    progress += 1;
    await report?.({ progress, message });
  }

  async function drain(attempt: number) {
    const after = cursor.get(attempt) ?? -1;
    for (const chunk of await port.listChunks(id, { attempt, after })) {
      // The hub filters by attempt already; a chunk of another attempt or an old seq is not news.
      if (chunk.attempt !== attempt || chunk.seq <= (cursor.get(attempt) ?? -1)) continue;
      cursor.set(attempt, chunk.seq);
      await step(chunk.content.slice(0, CHUNK_MESSAGE_MAX));
    }
  }

  for (;;) {
    const task = await port.getTask(id);
    const before = progress;
    if (report) {
      // Output of attempts that have ended comes first: it was streamed before this state.
      for (; openAttempt < task.attempt; openAttempt += 1) await drain(openAttempt);
      const state = `${task.status}#${task.attempt}`;
      const changed = state !== lastState;
      lastState = state;
      const finished = isFinished(task.status);
      // A running state is announced before its output; an end after it ("done" comes last).
      if (changed && !finished) await step(stateMessage(task));
      if (task.attempt >= 1) await drain(task.attempt);
      if (changed && finished) await step(stateMessage(task));
    }
    const waited = clock.now() - started;
    if (isFinished(task.status)) {
      // The SDK client handles a response at once but a notification a microtask later, and
      // drops progress for a request it already answered: when the last steps and the result
      // arrive in one read, the steps are lost. A short (real-time) pause lets them be read first.
      if (progress > before) await sleep(PROGRESS_FLUSH_MS, options.signal);
      return { state: "finished", task, waited_ms: waited };
    }
    if (waited + options.pollMs > maxMs || options.signal?.aborted) {
      return { state: "still_running", task, waited_ms: waited };
    }
    await clock.sleep(options.pollMs, options.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
