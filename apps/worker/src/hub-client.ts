import {
  type Client,
  createClient,
  type HubError,
  HubUnreachableError,
  isHubError,
  isTransientError,
} from "@m3shd/client";
import type {
  Agent,
  CompleteTaskInput,
  CompleteTaskResponse,
  HandoffBody,
  HandoffResponse,
  HeartbeatBody,
  HeartbeatResponse,
  InvokeToolInput,
  InvokeToolResponse,
  NextTaskResponse,
  Plugin,
  RegisterAgentBody,
  StreamChunkBody,
  StreamChunkResponse,
  Task,
} from "@m3shd/protocol";
import { createPooledFetch } from "./transport";

export type { HubError } from "@m3shd/client";
export { BadResponseError, HubUnreachableError, isHubError } from "@m3shd/client";
export type { CompleteTaskResponse as CompleteResponse, HeartbeatResponse } from "@m3shd/protocol";

/** Whether a later retry of the same request may succeed (unreachable, 5xx, 429, 408). */
export const isTransientHubError: (err: unknown) => boolean = isTransientError;

export interface HubClientOptions {
  baseUrl: string;
  token: string;
  agentId: string;
  requestTimeoutMs: number;
  userAgent?: string;
  /** Ceiling of one retry wait after a 429/503 (default 2 s). */
  retryMaxDelayMs?: number;
}

/**
 * The attempt (lease) the hub issued with the claim, on a write of that execution. A hub that
 * issues no attempt gets bodies without one; once the protocol's write bodies declare `attempt`
 * this is how the worker already sends it.
 */
export function withAttempt<B extends object>(body: B, attempt: number | undefined): B {
  return attempt === undefined ? body : { ...body, attempt };
}

/**
 * The worker's side of the hub contract, on `@m3shd/client`: typed calls from the protocol's
 * route descriptors, a bearer token, the acting agent named on every request. The worker holds no
 * Redis or database credentials.
 *
 * Retries: the client retries a 429/503 after its `Retry-After` (bounded); transport failures are
 * not retried here, because the worker's own loops (register, long-poll, chunk streamer, spool)
 * already back off on them with `--hub-retry-max`, and a completion is spooled before it is sent.
 */
export class HubClient {
  readonly #client: Client;
  readonly #pool = createPooledFetch();
  readonly #agentId: string;

  constructor(options: HubClientOptions) {
    this.#agentId = options.agentId;
    this.#client = createClient({
      baseUrl: options.baseUrl,
      token: options.token,
      fetch: this.#pool.fetch,
      timeoutMs: options.requestTimeoutMs,
      retry: { retries: 2, networkErrors: false, maxDelayMs: options.retryMaxDelayMs ?? 2000 },
      headers: {
        // Names the acting agent for per-task routes; a scoped agent token will make it redundant.
        "x-m3shd-agent": options.agentId,
        "user-agent": options.userAgent ?? "m3shd-worker",
      },
    });
  }

  /** Drops pooled connections (see `createPooledFetch`). */
  resetConnections(): void {
    this.#pool.reset();
  }

  /** Runs one call; a transport failure drops the pool (a 5xx already did, in the transport). */
  async #call<T>(run: (client: Client) => Promise<T>): Promise<T> {
    try {
      return await run(this.#client);
    } catch (err) {
      if (err instanceof HubUnreachableError) this.#pool.reset();
      throw err;
    }
  }

  async register(body: RegisterAgentBody): Promise<Agent> {
    const res = await this.#call((c) => c.worker.register({ params: { id: this.#agentId }, body }));
    return res.body.agent;
  }

  async heartbeat(body: HeartbeatBody): Promise<HeartbeatResponse> {
    const res = await this.#call((c) => c.worker.heartbeat({ params: { id: this.#agentId }, body }));
    return res.body;
  }

  /** Long-polls for the next task and its attempt; `null` when none arrived within `waitSeconds`. */
  nextTask(waitSeconds: number, signal?: AbortSignal): Promise<NextTaskResponse | null> {
    return this.#call((c) => c.nextTask(this.#agentId, { waitSeconds, signal }));
  }

  async getTask(taskId: string): Promise<Task> {
    const res = await this.#call((c) => c.tasks.get({ params: { id: taskId } }));
    return res.body.task;
  }

  /** Posts one chunk. Safe to repeat: the hub deduplicates by `seq`. */
  async stream(taskId: string, body: StreamChunkBody, attempt?: number): Promise<StreamChunkResponse> {
    const res = await this.#call((c) =>
      c.tasks.stream({ params: { id: taskId }, body: withAttempt(body, attempt), idempotent: true }),
    );
    return res.body;
  }

  async complete(taskId: string, body: CompleteTaskInput, attempt?: number): Promise<CompleteTaskResponse> {
    const res = await this.#call((c) =>
      c.tasks.complete({ params: { id: taskId }, body: withAttempt(body, attempt) }),
    );
    return res.body;
  }

  /** The hub's plugins: tools, hooks, capability declarations, enabled state. */
  async listPlugins(): Promise<Plugin[]> {
    const res = await this.#call((c) => c.plugins.list());
    return res.body.plugins;
  }

  /**
   * Calls a tool for a running task (`POST /api/plugins/:tool/invoke`). A tool that ran answers
   * 200 either way (`ok: false` when it failed); a refusal throws the hub's error. Not retried on
   * a transport failure: the tool may have run.
   */
  async invokeTool(tool: string, body: InvokeToolInput, signal?: AbortSignal): Promise<InvokeToolResponse> {
    const res = await this.#call((c) =>
      c.plugins.invoke({ params: { tool }, body, ...(signal ? { signal } : {}) }),
    );
    return res.body;
  }

  async handoff(taskId: string, body: HandoffBody, attempt?: number): Promise<HandoffResponse> {
    const res = await this.#call((c) =>
      c.tasks.handoff({ params: { id: taskId }, body: withAttempt(body, attempt) }),
    );
    return res.body;
  }
}

/** A hub error with this status. */
export function isHubStatus(err: unknown, ...statuses: number[]): err is HubError {
  return isHubError(err) && statuses.includes(err.status);
}
