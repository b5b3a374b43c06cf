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

export interface AwaitOptions {
  /** How long to wait at most; clamped to `AWAIT_MAX_MS`. */
  maxMs: number;
  /** How often to look at the task while it runs. */
  pollMs: number;
  signal?: AbortSignal;
  /** Called for each state change and streamed chunk; when absent no chunks are fetched. */
  onProgress?: (step: ProgressStep) => Promise<void> | void;
  now?: () => number;
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

/**
 * Follows a task until it ends or `maxMs` passes, reporting state changes and streamed chunks.
 * Polls through the port, so every read is the caller's own (RBAC-checked) request.
 */
export async function awaitTask(port: MeshPort, id: string, options: AwaitOptions): Promise<AwaitResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const maxMs = Math.max(0, Math.min(options.maxMs, AWAIT_MAX_MS));
  let progress = 0;
  let lastStatus: TaskStatus | null = null;
  let afterSeq = -1;
  for (;;) {
    const task = await port.getTask(id);
    const before = progress;
    if (options.onProgress) {
      // Chunks first: the output streamed before a task finished is reported before "done".
      for (const chunk of await port.listChunks(id, afterSeq)) {
        afterSeq = Math.max(afterSeq, chunk.seq);
        progress += 1;
        await options.onProgress({ progress, message: chunk.content.slice(0, CHUNK_MESSAGE_MAX) });
      }
      if (task.status !== lastStatus) {
        progress += 1;
        await options.onProgress({ progress, message: `${task.id} is ${task.status}` });
      }
    }
    lastStatus = task.status;
    const waited = now() - started;
    if (isFinished(task.status)) {
      // The SDK client handles a response at once but a notification a microtask later, and
      // drops progress for a request it already answered: when the last steps and the result
      // arrive in one read, the steps are lost. A short pause lets them be read first.
      if (progress > before) await sleep(PROGRESS_FLUSH_MS, options.signal);
      return { state: "finished", task, waited_ms: waited };
    }
    if (waited + options.pollMs > maxMs || options.signal?.aborted) {
      return { state: "still_running", task, waited_ms: waited };
    }
    await sleep(options.pollMs, options.signal);
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
