import type {
  Agent,
  ApprovalListResponse,
  CostAnalytics,
  MeshEvent,
  MeshEventType,
  Message,
  ProvenanceResponse,
  SummaryAnalytics,
  Task,
  TaskAnalytics,
  TaskListResponse,
} from "@m3shd/protocol";

/**
 * The dashboard's one door to the hub. Every view calls these functions and nothing else talks
 * to the network, so moving onto `@m3shd/client` (typed by the route descriptors) replaces this
 * file alone. Until that package is on main this is a thin fetch module of the same shape: same-
 * origin requests carrying the session cookie, the CSRF token on every write, and the error
 * envelope turned into an `ApiError`.
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

/** Base of every API path: `/api` for a logged-in operator, `/demo/api` for the public demo. */
let apiBase = "/api";
export function useDemoApi(): void {
  apiBase = "/demo/api";
}
/** The public demo: read-only, redacted, rate limited, no event stream. */
export function isDemoApi(): boolean {
  return apiBase === "/demo/api";
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") {
    const csrf = csrfToken();
    if (csrf) headers["x-csrf-token"] = csrf;
  }
  let res: Response;
  try {
    res = await fetch(apiBase + path, {
      method,
      headers,
      credentials: "same-origin",
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    throw new ApiError(0, "network", err instanceof Error ? err.message : "network error");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (res.status === 401 && !path.startsWith("/auth/")) {
    // The session expired or was revoked: the app shows the login form again.
    dispatchEvent(new Event("m3shd:unauthorized"));
  }
  if (!res.ok) {
    const env = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, env?.code ?? "http_error", env?.message ?? `HTTP ${res.status}`);
  }
  return parsed as T;
}

function qs(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
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
  cursor?: string | undefined;
  limit?: number | undefined;
}

export const api = {
  login: (username: string, password: string) =>
    call<LoginResult>("POST", "/auth/login", { username, password }),
  logout: () => call<void>("POST", "/auth/logout"),
  agents: () => call<{ agents: Agent[] }>("GET", "/agents"),
  tasks: (f: TaskFilters) => call<TaskListResponse>("GET", `/tasks${qs({ limit: 20, ...f })}`),
  task: (id: string) => call<{ task: Task }>("GET", `/tasks/${encodeURIComponent(id)}`),
  chunks: (id: string, after = -1) =>
    call<{ chunks: { seq: number; content: string }[] }>(
      "GET",
      `/tasks/${encodeURIComponent(id)}/chunks${qs({ after })}`,
    ),
  createTask: (body: Record<string, unknown>) => call<{ task: Task }>("POST", "/tasks", body),
  cancelTask: (id: string, reason: string) =>
    call<{ task: Task }>("POST", `/tasks/${encodeURIComponent(id)}/cancel`, { reason }),
  provenance: (id: string) => call<ProvenanceResponse>("GET", `/tasks/${encodeURIComponent(id)}/provenance`),
  templates: () => call<{ templates: Template[] }>("GET", "/templates"),
  dispatchTemplate: (id: string, variables: Record<string, string>) =>
    call<{ task: Task }>("POST", `/templates/${encodeURIComponent(id)}/dispatch`, { variables }),
  approvals: (status?: string) => call<ApprovalListResponse>("GET", `/approvals${qs({ status, limit: 50 })}`),
  decideApproval: (id: string, decision: "approved" | "rejected") =>
    call<unknown>("PUT", `/approvals/${encodeURIComponent(id)}`, { decision }),
  escalations: (status?: string) =>
    call<{ escalations: Escalation[] }>("GET", `/escalations${qs({ status, limit: 50 })}`),
  resolveEscalation: (id: string) =>
    call<unknown>("PUT", `/escalations/${encodeURIComponent(id)}`, { status: "resolved" }),
  messages: (channel?: string) =>
    call<{ messages: Message[] }>("GET", `/messages${qs({ channel, limit: 100 })}`),
  postMessage: (channel: string, content: string) => call<unknown>("POST", "/messages", { channel, content }),
  analyticsSummary: (days = 7) => call<SummaryAnalytics>("GET", `/admin/analytics/summary${qs({ days })}`),
  analyticsTasks: (days = 7) => call<TaskAnalytics>("GET", `/admin/analytics/tasks${qs({ days })}`),
  analyticsCosts: (days = 7) => call<CostAnalytics>("GET", `/admin/analytics/costs${qs({ days })}`),
};

export type ConnectionState = "connecting" | "open" | "reconnecting" | "polling" | "closed";

export interface EventSubscription {
  readonly lastEventId: string | undefined;
  readonly reconnects: number;
  /** Drops the current connection as a network failure would (the subscription resumes). */
  drop(): void;
  close(): void;
}

/**
 * Subscribes to `GET /api/stream` and resumes with `Last-Event-ID` after any drop (backoff 0.5–
 * 15 s). When streaming is blocked (a proxy that buffers, a non-stream answer three times in a
 * row), it falls back to `onPoll` every `pollMs` and says so through `onState`.
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
  let controller: AbortController | null = null;
  let failures = 0;
  let pollTimer: ReturnType<typeof setInterval> | null = null;

  const startPolling = () => {
    options.onState("polling");
    if (pollTimer || !options.onPoll) return;
    pollTimer = setInterval(() => options.onPoll?.(), options.pollMs ?? 5000);
    options.onPoll();
  };

  const connect = async () => {
    while (!closed) {
      controller = new AbortController();
      const headers: Record<string, string> = { accept: "text/event-stream" };
      if (lastEventId) headers["last-event-id"] = lastEventId;
      const query = options.types?.length ? `?types=${options.types.join(",")}` : "";
      try {
        options.onState(reconnects === 0 && failures === 0 ? "connecting" : "reconnecting");
        const res = await fetch(`${apiBase}/stream${query}`, {
          headers,
          credentials: "same-origin",
          signal: controller.signal,
        });
        if (res.status === 401 || res.status === 403) {
          if (res.status === 401) dispatchEvent(new Event("m3shd:unauthorized"));
          options.onState("closed");
          return;
        }
        if (!res.ok || !res.body || !(res.headers.get("content-type") ?? "").includes("text/event-stream")) {
          throw new Error(`stream answered ${res.status}`);
        }
        failures = 0;
        if (pollTimer) {
          clearInterval(pollTimer);
          pollTimer = null;
        }
        options.onState("open");
        await readFrames(res.body, (frame) => {
          if (frame.comment === "gap") options.onGap?.();
          if (!frame.data) return;
          try {
            const event = JSON.parse(frame.data) as MeshEvent;
            if (frame.id) lastEventId = frame.id;
            options.onEvent(event);
          } catch {
            // A frame that is not JSON is skipped; the next one carries on.
          }
        });
      } catch {
        // Network drop, abort by `drop()`, or a non-stream answer: resume below.
      }
      if (closed) break;
      failures++;
      reconnects++;
      if (failures >= 3) startPolling();
      else options.onState("reconnecting");
      // 1 s, 2 s, 4 s … 15 s: a hub that restarts is not hammered by every open dashboard.
      const delay = Math.min(15_000, 1000 * 2 ** Math.max(0, failures - 1));
      await new Promise((r) => setTimeout(r, delay));
    }
    options.onState("closed");
  };
  // The demo has no event stream (and a 30 requests/min budget): re-read state every 15 s.
  if (isDemoApi()) {
    options.pollMs = 15_000;
    startPolling();
  } else void connect();
  return {
    get lastEventId() {
      return lastEventId;
    },
    get reconnects() {
      return reconnects;
    },
    drop() {
      controller?.abort();
    },
    close() {
      closed = true;
      controller?.abort();
      if (pollTimer) clearInterval(pollTimer);
    },
  };
}

interface Frame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

/** Minimal `text/event-stream` reader (LF or CRLF line ends, multi-line data). */
async function readFrames(body: ReadableStream<Uint8Array>, onFrame: (f: Frame) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
    let idx = buffer.indexOf("\n\n");
    while (idx >= 0) {
      const raw = buffer.slice(0, idx);
      buffer = buffer.slice(idx + 2);
      const frame: Frame = {};
      for (const line of raw.split("\n")) {
        if (line.startsWith(":")) frame.comment = line.slice(1).trim();
        else if (line.startsWith("id:")) frame.id = line.slice(3).trim();
        else if (line.startsWith("event:")) frame.event = line.slice(6).trim();
        else if (line.startsWith("data:")) {
          const v = line.slice(5).replace(/^ /, "");
          frame.data = frame.data === undefined ? v : `${frame.data}\n${v}`;
        }
      }
      onFrame(frame);
      idx = buffer.indexOf("\n\n");
    }
  }
}
