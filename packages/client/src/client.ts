import {
  buildPath,
  defineRoute,
  HUB_ROUTES,
  type MeshEvent,
  MeshEventSchema,
  type MeshEventType,
  type NextTaskResponse,
  nextTaskRoute,
  type RouteDef,
  type RouteRequest,
  type RouteResult,
  type SseResponse,
  sseResponse,
} from "@m3shd/protocol";
import { z } from "zod";
import { BadResponseError, describeCause, errorFromResponse, HubUnreachableError } from "./errors";
import {
  backoffDelay,
  DEFAULT_RETRY,
  IDEMPOTENT_METHODS,
  parseRetryAfter,
  type RetryOptions,
  sleep,
} from "./retry";
import { type EventStream, SseSubscription, type SubscribeOptions } from "./sse";

/** The part of `fetch` the client uses; the global `fetch` fits, so does undici's or a test's. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface ClientOptions<R extends readonly RouteDef[] = typeof HUB_ROUTES> {
  /** The hub's origin, e.g. `http://127.0.0.1:7700` (a trailing slash is ignored). */
  baseUrl: string;
  /** Bearer token, or a function asked before every request (a refreshed session). */
  token?: string | (() => string | undefined | Promise<string | undefined>) | undefined;
  /** Default: the global `fetch`. Inject one to pick the connection pool, proxy or TLS. */
  fetch?: FetchLike | undefined;
  /** Sent with every request (the worker's `x-m3shd-agent`, a user agent…). */
  headers?: Record<string, string> | undefined;
  /** Retry policy (see `RetryOptions`); `false` never retries. */
  retry?: Partial<RetryOptions> | false | undefined;
  /** Per-try budget for the whole exchange, headers and body (default 30 s). */
  timeoutMs?: number | undefined;
  /** The descriptors the client is typed by (default: every hub route, `HUB_ROUTES`). */
  routes?: R | undefined;
}

/** Per-call options, beside the route's `params`, `query` and `body`. */
export interface CallOptions {
  /** Aborts the call; it then rejects with the signal's reason, never a client error. */
  signal?: AbortSignal | undefined;
  headers?: Record<string, string> | undefined;
  timeoutMs?: number | undefined;
  retry?: Partial<RetryOptions> | false | undefined;
  /**
   * This POST or PATCH is safe to repeat (the route deduplicates it, as chunk `seq` or a
   * heartbeat does): retry it after a transport failure like a GET.
   */
  idempotent?: boolean | undefined;
}

/** What a call of route `D` takes. */
export type RouteCall<D extends RouteDef> = RouteRequest<D> & CallOptions;

/** The event type an SSE route streams (`never` for a JSON route). */
export type SseEventOf<D extends RouteDef> = {
  [S in keyof D["responses"]]: D["responses"][S] extends SseResponse<infer E> ? z.output<E> : never;
}[keyof D["responses"]];

/** `[call]`, or `[call?]` when nothing in it is required. */
type ArgsOf<T> = Record<never, never> extends T ? [call?: T] : [call: T];

/** What a call of route `D` takes when it streams events. */
export type SubscribeCall<D extends RouteDef> = Omit<RouteRequest<D>, "body"> &
  SubscribeOptions<SseEventOf<D>> & { timeoutMs?: number | undefined };

/** A typed method for one descriptor: a JSON call, or a subscription for an SSE route. */
export type RouteMethod<D extends RouteDef> = [SseEventOf<D>] extends [never]
  ? (...args: ArgsOf<RouteCall<D>>) => Promise<RouteResult<D>>
  : (...args: ArgsOf<SubscribeCall<D>>) => EventStream<SseEventOf<D>>;

type NamespaceOf<Id> = Id extends `${infer N}.${string}` ? N : never;

/**
 * `client.<area>.<verb>` for every descriptor with id `<area>.<verb>`: a mapped type over the
 * descriptor union, so a descriptor added to the list is a method here with no change to the client.
 */
export type RouteNamespaces<U extends RouteDef> = {
  [N in NamespaceOf<U["id"]>]: {
    [D in U as D["id"] extends `${N}.${infer V}` ? V : never]: RouteMethod<D>;
  };
};

/** Options of the `GET /api/stream` subscription. */
export interface MeshEventsOptions extends SubscribeOptions<MeshEvent> {
  /** Only these event types (default: all). */
  types?: readonly MeshEventType[] | undefined;
  timeoutMs?: number | undefined;
}

/** Options of the worker long-poll. */
export interface NextTaskOptions {
  /** Seconds the hub holds the request open waiting for an assignment (default 25). */
  waitSeconds?: number | undefined;
  /** Abort on shutdown: the call rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  headers?: Record<string, string> | undefined;
}

export interface ClientCore<R extends readonly RouteDef[]> {
  readonly baseUrl: string;
  /** The descriptors this client was built from. */
  readonly routes: R;
  /**
   * Calls `route`: fills its path, serializes its query, sends its body as JSON, retries as the
   * policy allows, and parses the answer with the schema the route declares for its status.
   * Rejects with a `HubError` (the protocol's typed error) for an error status, a
   * `BadResponseError` for a 2xx that breaks the contract, a `HubUnreachableError` for a failed
   * exchange, or the signal's reason when aborted.
   */
  request<D extends RouteDef>(route: D, ...args: ArgsOf<RouteCall<D>>): Promise<RouteResult<D>>;
  /** Subscribes to an SSE route; see `EventStream` for resume and reconnect. */
  subscribe<D extends RouteDef>(route: D, ...args: ArgsOf<SubscribeCall<D>>): EventStream<SseEventOf<D>>;
  /** Subscribes to the hub's event stream (`GET /api/stream`), events parsed with `MeshEventSchema`. */
  events(options?: MeshEventsOptions): EventStream<MeshEvent>;
  /**
   * The worker long-poll (`GET /api/agents/:id/tasks/next`): the claimed task and its attempt,
   * or `null` when nothing arrived within `waitSeconds`. The request budget covers the wait.
   */
  nextTask(agentId: string, options?: NextTaskOptions): Promise<NextTaskResponse | null>;
}

/** A hub client: the generic calls plus one namespace per descriptor area. */
export type Client<R extends readonly RouteDef[] = typeof HUB_ROUTES> = ClientCore<R> &
  RouteNamespaces<R[number]>;

const RESERVED = new Set(["baseUrl", "routes", "request", "subscribe", "events", "nextTask"]);

/**
 * `GET /api/stream`, used by `events()` until the hub's route list declares it (then that
 * descriptor is used: same path, same events).
 */
export const meshStreamRoute = defineRoute({
  id: "stream.events",
  method: "GET",
  path: "/api/stream",
  permission: "tasks:read",
  summary: "Server-Sent Events of the mesh",
  tags: ["stream"],
  query: z.strictObject({ types: z.string().optional(), last_event_id: z.string().optional() }),
  responses: { 200: sseResponse(MeshEventSchema) },
});

function sseSpec(route: RouteDef): SseResponse | undefined {
  for (const spec of Object.values(route.responses)) {
    if (spec !== null && typeof spec === "object" && (spec as { kind?: unknown }).kind === "sse") {
      return spec as SseResponse;
    }
  }
  return undefined;
}

function queryString(query: unknown): string {
  if (query === undefined || query === null) return "";
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const item of value) search.append(key, String(item));
    else search.append(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * One exchange with a deadline: the caller's signal and the timeout abort it, and the body is
 * read under the same deadline (a connection that stalls mid-body is a timeout too). Listeners
 * and timers are removed when it settles, so a long-lived caller signal collects nothing.
 */
async function exchange(
  fetchFn: FetchLike,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  readBody: boolean,
): Promise<{ res: Response; text: string; timedOut: () => boolean }> {
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(signal?.reason);
  if (signal?.aborted) controller.abort(signal.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error(`timed out after ${timeoutMs} ms`));
  }, timeoutMs);
  try {
    const res = await fetchFn(url, { ...init, signal: controller.signal });
    const text = readBody ? await res.text() : "";
    return { res, text, timedOut: () => timedOut };
  } catch (err) {
    throw Object.assign(new Error("exchange failed", { cause: err }), { timedOut });
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Builds a typed hub client; see the package README. */
export function createClient<const R extends readonly RouteDef[] = typeof HUB_ROUTES>(
  options: ClientOptions<R>,
): Client<R> {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const routes = (options.routes ?? HUB_ROUTES) as R;
  const fetchFn: FetchLike = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  const defaultTimeout = options.timeoutMs ?? 30_000;
  const clientRetry =
    options.retry === false ? { ...DEFAULT_RETRY, retries: 0 } : { ...DEFAULT_RETRY, ...options.retry };

  async function headersFor(
    extra: Record<string, string> | undefined,
    accept: string,
  ): Promise<Record<string, string>> {
    const token = typeof options.token === "function" ? await options.token() : options.token;
    return {
      accept,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...options.headers,
      ...extra,
    };
  }

  async function request<D extends RouteDef>(route: D, call: RouteCall<D> = {} as RouteCall<D>) {
    if (sseSpec(route)) throw new TypeError(`${route.id} streams events: use subscribe()`);
    const path = buildPath(route.path, call.params as Record<string, string | number> | undefined);
    const label = `${route.method} ${path}`;
    const url = `${baseUrl}${path}${queryString(call.query)}`;
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    const retry = call.retry === false ? { ...clientRetry, retries: 0 } : { ...clientRetry, ...call.retry };
    const idempotent = call.idempotent ?? IDEMPOTENT_METHODS.has(route.method);
    const timeoutMs = call.timeoutMs ?? defaultTimeout;
    const headers = await headersFor(call.headers, "application/json");
    if (body !== undefined) headers["content-type"] = "application/json";
    for (let retried = 0; ; retried++) {
      let res: Response;
      let text: string;
      try {
        ({ res, text } = await exchange(
          fetchFn,
          url,
          { method: route.method, headers, ...(body === undefined ? {} : { body }) },
          timeoutMs,
          call.signal,
          true,
        ));
      } catch (failure) {
        if (call.signal?.aborted) throw call.signal.reason;
        const err = failure as Error & { timedOut: boolean };
        const unreachable = new HubUnreachableError(
          label,
          err.timedOut ? `timed out after ${timeoutMs} ms` : describeCause(err.cause),
          { cause: err.cause, timedOut: err.timedOut },
        );
        if (retried < retry.retries && retry.networkErrors && idempotent) {
          await sleep(backoffDelay(retried + 1, retry), call.signal);
          continue;
        }
        throw unreachable;
      }
      const requestId = res.headers.get("x-request-id") ?? undefined;
      if (res.status >= 200 && res.status < 300) {
        return parseSuccess(route, res.status, text, label, requestId);
      }
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      const retryAfterMs = parseRetryAfter(res.headers.get("retry-after"));
      const err = errorFromResponse(json, { status: res.status, request: label, requestId, retryAfterMs });
      if (retried < retry.retries && retry.statuses.includes(res.status)) {
        const wait = retryAfterMs ?? backoffDelay(retried + 1, retry);
        if (wait <= retry.maxRetryAfterMs) {
          await sleep(wait, call.signal);
          continue;
        }
      }
      throw err;
    }
  }

  function subscribe<D extends RouteDef>(route: D, call: SubscribeCall<D> = {} as SubscribeCall<D>) {
    const spec = sseSpec(route);
    if (!spec) throw new TypeError(`${route.id} does not stream events: use request()`);
    const path = buildPath(route.path, call.params as Record<string, string | number> | undefined);
    const label = `${route.method} ${path}`;
    const url = `${baseUrl}${path}${queryString(call.query)}`;
    const timeoutMs = call.timeoutMs ?? defaultTimeout;
    const connect = async (lastEventId: string | undefined, signal: AbortSignal) => {
      const headers = await headersFor(call.headers, "text/event-stream");
      headers["cache-control"] = "no-cache";
      if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
      // The deadline covers the response headers only: the stream itself lasts as long as it lasts
      // (silence is caught by the subscription's idle timeout).
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      if (signal.aborted) controller.abort(signal.reason);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new Error("timed out"));
      }, timeoutMs);
      try {
        return await fetchFn(url, { method: route.method, headers, signal: controller.signal });
      } catch (err) {
        throw new HubUnreachableError(
          label,
          timedOut ? `timed out after ${timeoutMs} ms` : describeCause(err),
          {
            cause: err,
            timedOut,
          },
        );
      } finally {
        clearTimeout(timer);
      }
    };
    return new SseSubscription<SseEventOf<D>>(connect, spec.event as z.ZodType<SseEventOf<D>>, label, call);
  }

  function events(eventOptions: MeshEventsOptions = {}): EventStream<MeshEvent> {
    const declared = routes.find((r) => r.method === "GET" && r.path === "/api/stream" && sseSpec(r));
    const { types, ...rest } = eventOptions;
    return subscribe(
      (declared ?? meshStreamRoute) as typeof meshStreamRoute,
      {
        ...rest,
        ...(types && types.length > 0 ? { query: { types: types.join(",") } } : {}),
      } as SubscribeCall<typeof meshStreamRoute>,
    ) as EventStream<MeshEvent>;
  }

  async function nextTask(agentId: string, pollOptions: NextTaskOptions = {}) {
    const wait = pollOptions.waitSeconds ?? 25;
    const res = await request(nextTaskRoute, {
      params: { id: agentId },
      query: { wait },
      // The hub holds the request for up to `wait` seconds: that is on top of the usual budget.
      timeoutMs: wait * 1000 + defaultTimeout,
      signal: pollOptions.signal,
      headers: pollOptions.headers,
    });
    return res.status === 204 ? null : res.body;
  }

  const client: Record<string, unknown> = { baseUrl, routes, request, subscribe, events, nextTask };
  for (const route of routes) {
    const dot = route.id.indexOf(".");
    if (dot <= 0) continue;
    const area = route.id.slice(0, dot);
    const verb = route.id.slice(dot + 1);
    if (RESERVED.has(area)) throw new Error(`Route id ${route.id} collides with the client's ${area}`);
    const namespace = (client[area] ?? {}) as Record<string, unknown>;
    client[area] = namespace;
    namespace[verb] = sseSpec(route)
      ? (call?: SubscribeCall<RouteDef>) => subscribe(route, call)
      : (call?: RouteCall<RouteDef>) => request(route, call);
  }
  return client as Client<R>;
}

function parseSuccess<D extends RouteDef>(
  route: D,
  status: number,
  text: string,
  label: string,
  requestId: string | undefined,
): RouteResult<D> {
  const spec = route.responses[status];
  const meta = { status, request: label, requestId };
  if (spec === undefined) {
    throw new BadResponseError(`status ${status} is not one ${route.id} declares`, meta);
  }
  if (spec === null) return { status, body: undefined } as RouteResult<D>;
  if ((spec as { kind?: unknown }).kind === "sse") {
    throw new BadResponseError("an event stream where JSON was expected", meta);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new BadResponseError("the body is not JSON", meta);
  }
  const parsed = (spec as z.ZodType).safeParse(json);
  if (!parsed.success) {
    throw new BadResponseError(`the ${status} body does not match ${route.id}'s schema`, {
      ...meta,
      details: {
        issues: parsed.error.issues.map((i) => ({
          path: i.path.map(String),
          code: i.code,
          message: i.message,
        })),
      },
    });
  }
  return { status, body: parsed.data } as RouteResult<D>;
}
