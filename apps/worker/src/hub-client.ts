import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import {
  type Agent,
  AgentSchema,
  AgentStatusSchema,
  type CompleteTaskInput,
  ErrorBodySchema,
  type HandoffBody,
  type HandoffResponse,
  HandoffResponseSchema,
  type HeartbeatBody,
  type RegisterAgentBody,
  type StreamChunkBody,
  type Task,
  TaskSchema,
} from "@m3shd/protocol";
import { z } from "zod";

// Response envelopes of the worker routes. The protocol package has the inner schemas but not
// these wrappers yet; they mirror apps/hub/src/routes/{worker,tasks}.ts.
const RegisterResponseSchema = z.object({ agent: AgentSchema });
const HeartbeatResponseSchema = z.object({
  ok: z.literal(true),
  status: AgentStatusSchema,
  server_time: z.number(),
  // [fencing] The agent's tasks cancelled while it held them, until acknowledged (`cancelled_ack`).
  cancelled: z.array(z.string()).default([]),
});
export type HeartbeatResponse = z.infer<typeof HeartbeatResponseSchema>;
const TaskResponseSchema = z.object({ task: TaskSchema });
const StreamResponseSchema = z.object({
  attempt: z.int().min(1).optional(),
  seq: z.int().min(0),
  duplicate: z.boolean(),
});
const CompleteResponseSchema = z.object({ task: TaskSchema, replayed: z.boolean() });
export type CompleteResponse = z.infer<typeof CompleteResponseSchema>;

/** The hub answered with an error (4xx/5xx), or with a 2xx body that does not match the contract. */
export class HubError extends Error {
  readonly status: number;
  /** The protocol error code (`illegal_transition`, `not_found`…), or `bad_response`. */
  readonly code: string;
  readonly details: unknown;
  readonly requestId: string | undefined;

  constructor(status: number, code: string, message: string, details?: unknown, requestId?: string) {
    super(message);
    this.name = "HubError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.requestId = requestId;
  }
}

/** The hub could not be reached (connection refused or reset, DNS, timeout). */
export class HubUnreachableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HubUnreachableError";
  }
}

/** Whether a later retry of the same request may succeed. */
export function isTransientHubError(err: unknown): boolean {
  if (err instanceof HubUnreachableError) return true;
  if (err instanceof HubError) return err.status >= 500 || err.status === 429 || err.status === 408;
  return false;
}

export interface HubClientOptions {
  baseUrl: string;
  token: string;
  agentId: string;
  requestTimeoutMs: number;
  userAgent?: string;
}

/**
 * HTTP with a keep-alive pool the worker controls. After any transport failure or 5xx the pool is
 * dropped, so the next request opens a fresh connection: a hub instance that is shutting down (or
 * gone behind a load balancer) keeps answering on sockets already open to it, and a worker must
 * not stay pinned to it. `fetch` offers no way to drop its pool.
 */
class Transport {
  readonly #https: boolean;
  #agent: HttpAgent;

  constructor(baseUrl: string) {
    this.#https = baseUrl.startsWith("https:");
    this.#agent = this.#newAgent();
  }

  #newAgent(): HttpAgent {
    const options = { keepAlive: true, maxSockets: 64, maxFreeSockets: 8 };
    return this.#https ? new HttpsAgent(options) : new HttpAgent(options);
  }

  /** Closes every pooled connection; later requests connect afresh. */
  reset(): void {
    const old = this.#agent;
    this.#agent = this.#newAgent();
    old.destroy();
  }

  request(
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
  ): Promise<{ status: number; text: string }> {
    const send = this.#https ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        { method: init.method, headers: init.headers, agent: this.#agent, signal: init.signal },
        (res) => {
          const parts: Buffer[] = [];
          res.on("data", (chunk: Buffer) => parts.push(chunk));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString("utf8") }),
          );
          res.on("error", reject);
          res.on("aborted", () => reject(new Error("response aborted")));
        },
      );
      req.on("error", reject);
      req.end(init.body);
    });
  }
}

/**
 * The worker's side of the hub contract: plain HTTP with a bearer token, every response validated
 * with the protocol's schemas. The worker holds no Redis or database credentials.
 */
export class HubClient {
  readonly #opts: HubClientOptions;
  readonly #transport: Transport;

  constructor(options: HubClientOptions) {
    this.#opts = options;
    this.#transport = new Transport(options.baseUrl);
  }

  /** Drops pooled connections (see `Transport`). */
  resetConnections(): void {
    this.#transport.reset();
  }

  async #request<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    options: { body?: unknown; signal?: AbortSignal | undefined; timeoutMs?: number } = {},
  ): Promise<z.infer<S> | null> {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? this.#opts.requestTimeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let res: { status: number; text: string };
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    try {
      res = await this.#transport.request(`${this.#opts.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.#opts.token}`,
          // Names the acting agent for per-task routes; a scoped agent token will make it redundant.
          "x-m3shd-agent": this.#opts.agentId,
          accept: "application/json",
          "user-agent": this.#opts.userAgent ?? "m3shd-worker",
          ...(body === undefined
            ? {}
            : { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }),
        },
        ...(body === undefined ? {} : { body }),
        signal,
      });
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason ?? err;
      this.#transport.reset();
      const why = timeout.aborted ? "timed out" : describeCause(err);
      throw new HubUnreachableError(`${method} ${path}: hub unreachable (${why})`, { cause: err });
    }
    if (res.status >= 500) this.#transport.reset();
    if (res.status === 204) return null;
    let json: unknown;
    try {
      json = res.text ? JSON.parse(res.text) : undefined;
    } catch {
      json = undefined;
    }
    if (res.status < 200 || res.status >= 300) {
      const parsed = ErrorBodySchema.safeParse(json);
      if (parsed.success) {
        const e = parsed.data.error;
        throw new HubError(
          res.status,
          e.code,
          `${method} ${path}: ${res.status} ${e.message}`,
          e.details,
          e.request_id,
        );
      }
      throw new HubError(res.status, "unknown", `${method} ${path}: HTTP ${res.status}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new HubError(
        res.status,
        "bad_response",
        `${method} ${path}: response does not match the protocol`,
        {
          issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })),
        },
      );
    }
    return parsed.data;
  }

  #agentPath(suffix: string): string {
    return `/api/agents/${encodeURIComponent(this.#opts.agentId)}${suffix}`;
  }

  async register(body: RegisterAgentBody): Promise<Agent> {
    const res = await this.#request("POST", this.#agentPath("/register"), RegisterResponseSchema, { body });
    return expectBody(res).agent;
  }

  async heartbeat(body: HeartbeatBody): Promise<HeartbeatResponse> {
    return expectBody(
      await this.#request("POST", this.#agentPath("/heartbeat"), HeartbeatResponseSchema, { body }),
    );
  }

  /** Long-polls for the next task; `null` when none arrived within `waitSeconds`. */
  async nextTask(waitSeconds: number, signal?: AbortSignal): Promise<Task | null> {
    const res = await this.#request(
      "GET",
      this.#agentPath(`/tasks/next?wait=${waitSeconds}`),
      TaskResponseSchema,
      {
        signal,
        // The hub answers within `wait`; allow for it on top of the usual request budget.
        timeoutMs: waitSeconds * 1000 + this.#opts.requestTimeoutMs,
      },
    );
    return res?.task ?? null;
  }

  async getTask(taskId: string): Promise<Task> {
    return expectBody(
      await this.#request("GET", `/api/tasks/${encodeURIComponent(taskId)}`, TaskResponseSchema),
    ).task;
  }

  async stream(taskId: string, body: StreamChunkBody): Promise<{ seq: number; duplicate: boolean }> {
    return expectBody(
      await this.#request("POST", `/api/tasks/${encodeURIComponent(taskId)}/stream`, StreamResponseSchema, {
        body,
      }),
    );
  }

  async complete(taskId: string, body: CompleteTaskInput): Promise<CompleteResponse> {
    return expectBody(
      await this.#request("PUT", `/api/tasks/${encodeURIComponent(taskId)}`, CompleteResponseSchema, {
        body,
      }),
    );
  }

  async handoff(taskId: string, body: HandoffBody): Promise<HandoffResponse> {
    return expectBody(
      await this.#request("POST", `/api/tasks/${encodeURIComponent(taskId)}/handoff`, HandoffResponseSchema, {
        body,
      }),
    );
  }
}

function expectBody<T>(value: T | null): T {
  if (value === null) throw new HubError(204, "bad_response", "Unexpected empty response");
  return value;
}

function describeCause(err: unknown): string {
  let current: unknown = err;
  for (let i = 0; i < 4 && current; i++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return err instanceof Error ? err.message : String(err);
}
