import type { z } from "zod";
import type { Permission } from "./enums";

/**
 * Route descriptors: every HTTP route of the hub and of the memory service is declared once, here
 * in the protocol package — method, path, the schemas of its path, query and body, the response
 * schema for each success status, its permission and its body limit. The hub registers each
 * handler against its descriptor (a route without one cannot be registered), the OpenAPI document
 * is generated from them, and `@m3shd/client` derives its typed calls from the same objects.
 */

export const HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** The permission a route requires, or `public` for the few unauthenticated routes. */
export type RoutePermission = Permission | "public";

/** A `text/event-stream` response whose `data:` lines each parse with `event`. */
export interface SseResponse<E extends z.ZodType = z.ZodType> {
  readonly kind: "sse";
  readonly event: E;
}

/** Marks a route's success response as a Server-Sent Events stream of `event` payloads. */
export function sseResponse<E extends z.ZodType>(event: E): SseResponse<E> {
  return { kind: "sse", event };
}

/** One success response: a JSON body schema, `null` for no body (204), or an SSE stream. */
export type ResponseSpec = z.ZodType | null | SseResponse;

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
  [S in keyof D["responses"]]: D["responses"][S] extends SseResponse ? S : never;
}[keyof D["responses"]];

/**
 * What a hub handler returns: one of the declared statuses with a body of its schema's input
 * shape (the wire form), or, for an SSE route, the streaming `Response` itself.
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

/** A parsed response as a client sees it: the status and the body's schema output. */
export type RouteResult<D extends RouteDef> =
  | { [S in JsonStatuses<D>]: { status: S; body: OutputOf<D["responses"][S]> } }[JsonStatuses<D>]
  | { [S in EmptyStatuses<D>]: { status: S; body: undefined } }[EmptyStatuses<D>];

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
