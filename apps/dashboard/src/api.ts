import {
  BadResponseError,
  type CallOptions,
  type ConnectionState as ClientConnectionState,
  createClient,
  type EventStream,
  type FetchLike,
  HubUnreachableError,
  isHubError,
} from "@m3shd/client";
import {
  type Agent,
  type AgentAnalytics,
  type ApprovalListResponse,
  agentAnalyticsRoute,
  type CostAnalytics,
  cancelTaskRoute,
  costAnalyticsRoute,
  createTaskRoute,
  decideApprovalRoute,
  demoAgentsRoute,
  demoApprovalsRoute,
  demoTaskRoute,
  demoTasksRoute,
  dispatchTemplateRoute,
  getTaskRoute,
  type HandoffResponse,
  handoffTaskRoute,
  listAgentsRoute,
  listApprovalsRoute,
  listChunksRoute,
  listEscalationsRoute,
  listMessagesRoute,
  listTasksRoute,
  listTemplatesRoute,
  loginRoute,
  logoutRoute,
  type MeshEvent,
  type MeshEventType,
  type Message,
  type ProvenanceResponse,
  postMessageRoute,
  type RouteDef,
  type RouteRequest,
  type RouteResult,
  resolveEscalationRoute,
  type StreamChunk,
  type SummaryAnalytics,
  summaryAnalyticsRoute,
  type Task,
  type TaskAnalytics,
  type TaskListResponse,
  taskAnalyticsRoute,
  taskProvenanceRoute,
} from "@m3shd/protocol";

/**
 * The dashboard's one door to the hub. Every view calls these functions and nothing else talks
 * to the network. It is a thin adapter over `@m3shd/client` (typed by the protocol's route
 * descriptors): same-origin requests carrying the session cookie, the CSRF token on every write,
 * answers checked against the route's response schema, and every client error turned into an
 * `ApiError` the views already know.
 */

/** An error answer from the hub (its `{ error: { code, message } }` envelope), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The readable CSRF cookie the hub sets at login (the session cookie itself is HttpOnly). */
export function csrfToken(): string | null {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "m3shd_csrf" || name === "__Host-m3shd_csrf") return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** Demo mode: reads go to the `/demo/api/*` descriptors (`routes/demo.ts`), the rest answer 404. */
let demo = false;
export function useDemoApi(): void {
  demo = true;
}
/** The public demo: read-only, redacted, rate limited, no event stream. */
export function isDemoApi(): boolean {
  return demo;
}

/**
 * The browser's fetch with the session cookie (same origin) and, on every write, the CSRF token
 * the hub checks for cookie-authenticated requests.
 */
const browserFetch: FetchLike = (url, init) => {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string> | undefined) };
  if (init.method && init.method !== "GET") {
    const csrf = csrfToken();
    if (csrf) headers["x-csrf-token"] = csrf;
  }
  return fetch(url, { ...init, headers, credentials: "same-origin" });
};

// No retry of a 429: the demo's budget is 30 requests a minute and the views say so at once.
const client = createClient({ baseUrl: "", fetch: browserFetch, retry: { statuses: [503] } });

/** A client error as the views know it; a 401 outside `auth.*` sends the operator back to login. */
function toApiError(route: RouteDef, err: unknown): unknown {
  if (isHubError(err) || err instanceof BadResponseError) {
    if (err.status === 401 && !route.id.startsWith("auth.")) dispatchEvent(new Event("m3shd:unauthorized"));
    return new ApiError(err.status, err.code, err.message);
  }
  if (err instanceof HubUnreachableError) {
    return new ApiError(0, "network", err.message);
  }
  return err;
}

/** The body of a route's 2xx answers (each status's body, as a union). */
type BodyOf<D extends RouteDef> = RouteResult<D> extends { body: infer B } ? B : never;

async function call<D extends RouteDef>(
  route: D,
  args: RouteRequest<D> & CallOptions = {} as RouteRequest<D> & CallOptions,
): Promise<BodyOf<D>> {
  try {
    const res = await client.request(route, ...([args] as [RouteRequest<D> & CallOptions]));
    return res.body as BodyOf<D>;
  } catch (err) {
    throw toApiError(route, err);
  }
}

/** What the demo does not serve: the same 404 its hub would answer. */
function notInDemo(): Promise<never> {
  return Promise.reject(new ApiError(404, "not_found", "not available in the demo"));
}

export interface LoginResult {
  user: { id: string; username: string; role: "admin" | "user" | "viewer" };
  csrf_token: string;
  expires_at: number;
}

export interface Template {
  id: string;
  name: string;
  description: string;
  prompt_template: string;
  capability: string;
  priority: number;
  variables: string[];
}

export interface Escalation {
  id: string;
  agent_id: string;
  task_id: string | null;
  reason: string;
  status: string;
  created_at: number;
  [key: string]: unknown;
}

export interface TaskFilters {
  status?: string | undefined;
  capability?: string | undefined;
  agent?: string | undefined;
  /** Only the tasks that depend on this one (its direct dependents). */
  depends_on?: string | undefined;
  cursor?: string | undefined;
  limit?: number | undefined;
}

/** Drops empty filters (a select left on "all" sends nothing). */
function clean<T extends Record<string, unknown>>(q: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== "") out[k] = v;
  return out as T;
}

type Q<D extends RouteDef> = RouteRequest<D> extends { query?: infer X } ? NonNullable<X> : never;

export const api = {
  login: (username: string, password: string) =>
    call(loginRoute, { body: { username, password } }) as Promise<LoginResult>,
  logout: async (): Promise<void> => {
    await call(logoutRoute);
  },
  agents: (): Promise<{ agents: Agent[] }> => (demo ? call(demoAgentsRoute) : call(listAgentsRoute)),
  tasks: (f: TaskFilters): Promise<TaskListResponse> => {
    const query = clean({ limit: 20, ...f }) as Q<typeof listTasksRoute>;
    return demo ? call(demoTasksRoute, { query }) : call(listTasksRoute, { query });
  },
  task: (id: string): Promise<{ task: Task }> =>
    demo ? call(demoTaskRoute, { params: { id } }) : call(getTaskRoute, { params: { id } }),
  /** Every attempt's streamed chunks, ordered by attempt then `seq` (each attempt counts from 0). */
  chunks: (id: string): Promise<{ chunks: StreamChunk[] }> =>
    demo ? notInDemo() : call(listChunksRoute, { params: { id }, query: {} }),
  createTask: (body: Record<string, unknown>): Promise<{ task: Task }> =>
    call(createTaskRoute, { body: body as RouteRequest<typeof createTaskRoute>["body"] }),
  cancelTask: (id: string, reason: string): Promise<{ task: Task }> =>
    call(cancelTaskRoute, { params: { id }, body: { reason } }),
  /**
   * An operator's handoff of a running task: the hub suspends it with the partial output and
   * queues a continuation for another pickup. The route is the worker's, so the request acts for
   * the task's holder (`X-M3shd-Agent`, which a session may send only with `agents:write`) and
   * carries the attempt it saw: a task reclaimed since is a 409, never a wrong suspension.
   */
  handoffTask: (
    id: string,
    input: { agent: string; attempt: number; partial_output: string; reason: string },
  ): Promise<HandoffResponse> =>
    call(handoffTaskRoute, {
      params: { id },
      headers: { "x-m3shd-agent": input.agent },
      body: { partial_output: input.partial_output, reason: input.reason, attempt: input.attempt },
    }),
  provenance: (id: string): Promise<ProvenanceResponse> =>
    demo ? notInDemo() : call(taskProvenanceRoute, { params: { id } }),
  templates: () => (demo ? notInDemo() : call(listTemplatesRoute)) as Promise<{ templates: Template[] }>,
  dispatchTemplate: (id: string, variables: Record<string, string>): Promise<{ task: Task }> =>
    call(dispatchTemplateRoute, { params: { id }, body: { variables } }),
  approvals: (status?: string): Promise<ApprovalListResponse> =>
    demo
      ? call(demoApprovalsRoute)
      : call(listApprovalsRoute, { query: clean({ status, limit: 50 }) as Q<typeof listApprovalsRoute> }),
  decideApproval: (id: string, decision: "approved" | "rejected"): Promise<unknown> =>
    call(decideApprovalRoute, { params: { id }, body: { decision } }),
  escalations: (status?: string) =>
    (demo
      ? notInDemo()
      : call(listEscalationsRoute, {
          query: clean({ status, limit: 50 }) as Q<typeof listEscalationsRoute>,
        })) as Promise<{ escalations: Escalation[] }>,
  resolveEscalation: (id: string): Promise<unknown> =>
    call(resolveEscalationRoute, { params: { id }, body: { status: "resolved" } }),
  messages: (channel?: string): Promise<{ messages: Message[] }> =>
    demo
      ? notInDemo()
      : call(listMessagesRoute, { query: clean({ channel, limit: 100 }) as Q<typeof listMessagesRoute> }),
  postMessage: (channel: string, content: string): Promise<unknown> =>
    call(postMessageRoute, { body: { channel, content } as RouteRequest<typeof postMessageRoute>["body"] }),
  analyticsSummary: (days = 7): Promise<SummaryAnalytics> =>
    demo ? notInDemo() : call(summaryAnalyticsRoute, { query: { days } }),
  analyticsTasks: (days = 7): Promise<TaskAnalytics> =>
    demo ? notInDemo() : call(taskAnalyticsRoute, { query: { days } }),
  analyticsCosts: (days = 7): Promise<CostAnalytics> =>
    demo ? notInDemo() : call(costAnalyticsRoute, { query: { days } }),
  analyticsAgents: (days = 7): Promise<AgentAnalytics> =>
    demo ? notInDemo() : call(agentAnalyticsRoute, { query: { days } }),
};

export type ConnectionState = ClientConnectionState | "polling";

export interface EventSubscription {
  readonly lastEventId: string | undefined;
  readonly reconnects: number;
  /** Drops the current connection as a network failure would (the subscription resumes). */
  drop(): void;
  close(): void;
}

/**
 * Subscribes to `GET /api/stream` through the client's `events()`, which resumes with
 * `Last-Event-ID` after any drop (backoff 1–15 s). When streaming is blocked (a proxy that
 * buffers, a non-stream answer, three failed connects in a row) it falls back to `onPoll` every
 * `pollMs` and says so through `onState`, while it keeps trying to stream again.
 */
export function subscribeEvents(options: {
  types?: readonly MeshEventType[];
  onEvent: (event: MeshEvent) => void;
  onState: (state: ConnectionState) => void;
  onGap?: () => void;
  onPoll?: () => void;
  pollMs?: number;
}): EventSubscription {
  let lastEventId: string | undefined;
  let reconnects = 0;
  let closed = false;
  let failures = 0;
  let pollTimer: ReturnType<typeof setInterval> | null = null;
  let stream: EventStream<MeshEvent> | null = null;
  /** Aborts the current connection only: the subscription sees a drop and resumes. */
  let dropper: AbortController | null = null;

  const startPolling = () => {
    options.onState("polling");
    if (pollTimer || !options.onPoll) return;
    pollTimer = setInterval(() => options.onPoll?.(), options.pollMs ?? 5000);
    options.onPoll();
  };
  const stopPolling = () => {
    if (pollTimer) clearInterval(pollTimer);
    pollTimer = null;
  };
  const failed = () => {
    failures++;
    if (failures >= 3) startPolling();
    else options.onState("reconnecting");
  };

  const streamFetch: FetchLike = (url, init) => {
    dropper = new AbortController();
    const signal = init.signal ? AbortSignal.any([init.signal, dropper.signal]) : dropper.signal;
    return browserFetch(url, { ...init, signal });
  };
  const streamClient = createClient({ baseUrl: "", fetch: streamFetch });

  const connect = () => {
    if (closed) return;
    const current = streamClient.events({
      types: options.types,
      lastEventId,
      reconnect: { baseDelayMs: 1000, maxDelayMs: 15_000 },
      onEvent: (event) => {
        lastEventId = current.lastEventId;
        options.onEvent(event);
      },
      onGap: () => options.onGap?.(),
      onError: () => {
        if (!closed) failed();
      },
      onStateChange: (state) => {
        if (closed) return;
        if (state === "open") {
          failures = 0;
          stopPolling();
          options.onState("open");
        } else if (state === "connecting") {
          reconnects++;
          if (failures < 3) options.onState("reconnecting");
        }
      },
    });
    stream = current;
    current.done.then(
      () => {
        if (closed) options.onState("closed");
      },
      (err: unknown) => {
        if (closed) return;
        const status = isHubError(err) ? err.status : 0;
        if (status === 401 || status === 403) {
          if (status === 401) dispatchEvent(new Event("m3shd:unauthorized"));
          closed = true;
          options.onState("closed");
          return;
        }
        // A non-stream answer (a buffering proxy, an HTML error page): poll, and try again later.
        lastEventId = current.lastEventId ?? lastEventId;
        failed();
        const delay = Math.min(15_000, 1000 * 2 ** Math.max(0, failures - 1));
        setTimeout(() => {
          if (closed) return;
          reconnects++;
          connect();
        }, delay);
      },
    );
  };
  // The demo has no event stream (and a 30 requests/min budget): re-read state every 15 s.
  if (isDemoApi()) {
    options.pollMs = 15_000;
    startPolling();
  } else {
    options.onState("connecting");
    connect();
  }
  return {
    get lastEventId() {
      return lastEventId;
    },
    get reconnects() {
      return reconnects;
    },
    drop() {
      dropper?.abort(new Error("dropped"));
    },
    close() {
      closed = true;
      stopPolling();
      stream?.close();
      options.onState("closed");
    },
  };
}
