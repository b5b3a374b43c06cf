import type { z } from "zod";
import type { Permission } from "./enums";
import { ErrorBodySchema } from "./errors";

/**
 * Route descriptors: every HTTP route of the hub and of the memory service is declared once, here
 * in the protocol package — method, path, the schemas of its path, query and body, the response
 * schema for each success status, its permission and its body limit. The hub registers each
 * handler against its descriptor (a route without one cannot be registered), the OpenAPI document
 * is generated from them, and `@m3shd/client` derives its typed calls from the same objects.
 */

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/**
 * The permission a route requires, `public` for the few unauthenticated routes, or `service` for a
 * service-to-service route (the memory service's `/internal/*`: the shared service token only).
 */
export type RoutePermission = Permission | "public" | "service";

/** A `text/event-stream` response whose `data:` lines each parse with `event`. */
export interface SseResponse<E extends z.ZodType = z.ZodType> {
  readonly kind: "sse";
  readonly event: E;
}

/** Marks a route's success response as a Server-Sent Events stream of `event` payloads. */
export function sseResponse<E extends z.ZodType>(event: E): SseResponse<E> {
  return { kind: "sse", event };
}

/** A non-JSON body (an HTML page, a script or stylesheet of the docs page). */
export interface RawResponse {
  readonly kind: "raw";
  /** Media type of the body, e.g. `text/html`. Several: any of them. */
  readonly contentTypes: readonly string[];
}

/** Marks a route's success response as a non-JSON body of one of `contentTypes`. */
export function rawResponse(...contentTypes: string[]): RawResponse {
  return { kind: "raw", contentTypes };
}

/** One success response: a JSON body schema, `null` for no body (204), an SSE stream, or raw bytes. */
export type ResponseSpec = z.ZodType | null | SseResponse | RawResponse;

/** Error statuses a route documents; every error body is the protocol's error envelope. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 422 | 429 | 502 | 503;

export interface RouteDef {
  /** Stable operation id, `<area>.<verb>` (`tasks.create`): the OpenAPI operationId and client key. */
  readonly id: string;
  readonly method: HttpMethod;
  /** Hono-style path with `:name` parameters. */
  readonly path: string;
  readonly permission: RoutePermission;
  /** One line for the OpenAPI summary. */
  readonly summary: string;
  /** Longer text: semantics a client must know (idempotency, ordering, who may call it). */
  readonly description?: string;
  readonly tags: readonly string[];
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  /** Raw request-body ceiling in bytes, checked before parsing (413 above it). */
  readonly bodyLimitBytes?: number;
  /** Success responses by status. */
  readonly responses: Readonly<Record<number, ResponseSpec>>;
  /** Error statuses this route may answer (documentation; 401/403 are implied by the permission). */
  readonly errors?: readonly ErrorStatus[];
}

/** Declares a route, keeping its literal types for the hub's handlers and the client. */
export function defineRoute<const D extends RouteDef>(route: D): D {
  if (route.body !== undefined && route.bodyLimitBytes === undefined) {
    throw new Error(`Route ${route.id} has a body but no bodyLimitBytes`);
  }
  return route;
}

type OutputOf<S> = S extends z.ZodType ? z.output<S> : undefined;
type InputOf<S> = S extends z.ZodType ? z.input<S> : undefined;

/** What a handler receives: validated path, query and body (schema outputs). */
export interface RouteInput<D extends RouteDef> {
  params: OutputOf<D["params"]>;
  query: OutputOf<D["query"]>;
  body: OutputOf<D["body"]>;
}

/** What a client sends: schema inputs, only the parts the route declares. */
export type RouteRequest<D extends RouteDef> = (D["params"] extends z.ZodType
  ? { params: z.input<D["params"]> }
  : { params?: undefined }) &
  (D["query"] extends z.ZodType ? { query?: z.input<D["query"]> } : { query?: undefined }) &
  (D["body"] extends z.ZodType ? { body: z.input<D["body"]> } : { body?: undefined });

type JsonStatuses<D extends RouteDef> = {
  [S in keyof D["responses"]]: D["responses"][S] extends z.ZodType ? S : never;
}[keyof D["responses"]];

type EmptyStatuses<D extends RouteDef> = {
  [S in keyof D["responses"]]: D["responses"][S] extends null ? S : never;
}[keyof D["responses"]];

type SseStatuses<D extends RouteDef> = {
  [S in keyof D["responses"]]: D["responses"][S] extends SseResponse | RawResponse ? S : never;
}[keyof D["responses"]];

type RawStatuses<D extends RouteDef> = {
  [S in keyof D["responses"]]: D["responses"][S] extends RawResponse ? S : never;
}[keyof D["responses"]];

/**
 * What a hub handler returns: one of the declared statuses with a body of its schema's input
 * shape (the wire form), or, for an SSE or raw route, the `Response` itself.
 */
export type RouteReply<D extends RouteDef> =
  | {
      [S in JsonStatuses<D>]: {
        status: S;
        body: InputOf<D["responses"][S]>;
        headers?: Record<string, string>;
      };
    }[JsonStatuses<D>]
  | {
      [S in EmptyStatuses<D>]: { status: S; body?: undefined; headers?: Record<string, string> };
    }[EmptyStatuses<D>]
  | ([SseStatuses<D>] extends [never] ? never : Response);

/** A parsed response as a client sees it: the status and the body's schema output (text when raw). */
export type RouteResult<D extends RouteDef> =
  | { [S in JsonStatuses<D>]: { status: S; body: OutputOf<D["responses"][S]> } }[JsonStatuses<D>]
  | { [S in EmptyStatuses<D>]: { status: S; body: undefined } }[EmptyStatuses<D>]
  | { [S in RawStatuses<D>]: { status: S; body: string } }[RawStatuses<D>];

/** `/api/tasks/:id` → `/api/tasks/{id}` (OpenAPI's path template). */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, "{$1}");
}

/** Fills a route's `:name` parameters, each URI-encoded. Throws when one is missing. */
export function buildPath(path: string, params: Record<string, string | number> | undefined): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => {
    const value = params?.[name];
    if (value === undefined) throw new Error(`Missing path parameter ${name} for ${path}`);
    return encodeURIComponent(String(value));
  });
}

/**
 * Every error status a route may answer: the ones it documents plus those its shape implies —
 * 401/403/429 for an authenticated route (credentials, permission, an API key's rate caps), 422 for
 * validated path or query parameters, 400/413/415/422 for a JSON body. 500 is never declared: it is
 * a bug. The OpenAPI document lists exactly these; the contract tests refuse any other.
 */
export function routeErrorStatuses(route: RouteDef): number[] {
  const statuses = new Set<number>(route.errors ?? []);
  if (route.permission !== "public") for (const s of [401, 403, 429]) statuses.add(s);
  if (route.permission === "service") statuses.delete(429);
  if (route.params || route.query) statuses.add(422);
  if (route.body) for (const s of [400, 413, 415, 422]) statuses.add(s);
  return [...statuses].sort((a, b) => a - b);
}

function pathPattern(path: string): RegExp {
  const escaped = path
    .split(/(:[A-Za-z_][A-Za-z0-9_]*)/)
    .map((part) => (part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${escaped}$`);
}

const patterns = new WeakMap<RouteDef, RegExp>();

/**
 * The route a request is for: `method` and `pathname` (no query string) against `routes`. When
 * several match, the one with the fewest parameters wins (`/api/provenance/root` over a `:id`).
 */
export function matchRoute<R extends RouteDef>(
  routes: readonly R[],
  method: string,
  pathname: string,
): R | undefined {
  let best: R | undefined;
  let bestParams = Number.POSITIVE_INFINITY;
  const upper = method.toUpperCase();
  for (const route of routes) {
    if (route.method !== upper) continue;
    let pattern = patterns.get(route);
    if (!pattern) {
      pattern = pathPattern(route.path);
      patterns.set(route, pattern);
    }
    if (!pattern.test(pathname)) continue;
    const count = (route.path.match(/:/g) ?? []).length;
    if (count < bestParams) {
      best = route;
      bestParams = count;
    }
  }
  return best;
}

/** Why a response does not match its route's contract, or null when it does. */
export function checkRouteResponse(
  route: RouteDef,
  response: { status: number; contentType: string | null; body: unknown },
): string | null {
  const { status, contentType, body } = response;
  const where = `${route.id} (${route.method} ${route.path}) answered ${status}`;
  const mediaType = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (Object.hasOwn(route.responses, status)) {
    const spec = route.responses[status];
    if (spec === null || spec === undefined) {
      return body === null || body === undefined || body === ""
        ? null
        : `${where} with a body; declared empty`;
    }
    if ("kind" in spec && spec.kind === "sse") {
      return mediaType === "text/event-stream" ? null : `${where} as ${mediaType}; declared an SSE stream`;
    }
    if ("kind" in spec && spec.kind === "raw") {
      return spec.contentTypes.includes(mediaType)
        ? null
        : `${where} as ${mediaType}; declared ${spec.contentTypes.join(" or ")}`;
    }
    if (mediaType !== "application/json")
      return `${where} as ${mediaType || "no content type"}; declared JSON`;
    const parsed = (spec as z.ZodType).safeParse(body);
    return parsed.success ? null : `${where}: the body does not parse: ${parsed.error.message}`;
  }
  if (status >= 400) {
    if (!routeErrorStatuses(route).includes(status)) return `${where}, an undeclared error status`;
    const parsed = ErrorBodySchema.safeParse(body);
    return parsed.success ? null : `${where}: not the error envelope: ${parsed.error.message}`;
  }
  return `${where}, an undeclared status`;
}

/** One response as seen on the wire, for `assertRouteResponse`. */
export interface ObservedResponse {
  method: string;
  /** Path, with or without the query string (or a full URL). */
  url: string;
  status: number;
  contentType: string | null;
  /** Parsed JSON, the text of a non-JSON body, or null when empty. */
  body: unknown;
}

/**
 * Checks a response against the contract of the route it answers (found in `routes` by method
 * and path): throws an `Error` naming the route, status and problem when it breaks it. A request
 * that matches no route must be the 404 error envelope. Returns the route, if one matched.
 */
export function assertRouteResponse<R extends RouteDef>(
  routes: readonly R[],
  response: ObservedResponse,
): R | undefined {
  const pathname = new URL(response.url, "http://m3shd.invalid").pathname;
  const route = matchRoute(routes, response.method, pathname);
  if (!route) {
    if (response.status === 404 && ErrorBodySchema.safeParse(response.body).success) return undefined;
    throw new Error(
      `contract: ${response.method} ${pathname} matches no route but answered ${response.status} ` +
        `${JSON.stringify(response.body)?.slice(0, 200)}`,
    );
  }
  const problem = checkRouteResponse(route, response);
  if (problem) throw new Error(`contract: ${problem} — ${JSON.stringify(response.body)?.slice(0, 300)}`);
  return route;
}
