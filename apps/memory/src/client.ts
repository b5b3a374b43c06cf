import { randomBytes } from "node:crypto";
import {
  type ErrorBody,
  LimitExceededError,
  NotFoundError,
  toErrorBody,
  UnavailableError,
} from "@m3shd/protocol";
import { type Logger, pino } from "pino";
import { createMemoryApp, type MemoryApp } from "./app";
import { encodePrincipal, PRINCIPAL_HEADER, type PrincipalLike } from "./http/auth";
import { MEMORY_LIMITS } from "./limits";
import { RecallResponseSchema } from "./schemas";
import type { MemoryService, RecallInput, RecallResult } from "./service";

/** What the hub gets back at pickup. `unavailable`: run the task without memories and record why. */
export type RecallOutcome = ({ status: "ok" } & RecallResult) | { status: "unavailable"; reason: string };

/**
 * What the hub depends on. Two implementations: in-process (embedded mode, same event loop) and
 * HTTP (split deployment). Neither throws from `recall` or `forward`: an unreachable service is an
 * `unavailable` outcome or a 503 envelope, never an exception in the hub's pickup path.
 */
export interface MemoryClient {
  readonly kind: "in-process" | "http";
  /** The pickup-time memory block for an agent's task text. Never throws. */
  recall(input: RecallInput): Promise<RecallOutcome>;
  /**
   * Forwards one `/api/agents/:id/memory…` or `/api/memory/…` request, after the hub authenticated
   * the caller, with the caller's principal attached. Answers 503 (protocol envelope) when the
   * service is down, 404 for any other path, 413 for a body over the memory API's limit.
   */
  forward(request: Request, principal: PrincipalLike, requestId?: string): Promise<Response>;
  /** Whether the service answers. */
  health(): Promise<"ok" | "unavailable">;
}

const FORWARDABLE = /^\/api\/(agents\/[^/]+\/memory(\/.*)?|memory\/.+)$/;

function envelope(error: unknown, status: number, requestId?: string | null): Response {
  const body: ErrorBody = toErrorBody(error, requestId ?? undefined);
  const headers: Record<string, string> = { "content-type": "application/json" };
  // A refused body is left unread: close, or its tail would be read as the next request.
  if (status === 413) headers.connection = "close";
  return new Response(JSON.stringify(body), { status, headers });
}

/** Reads a request body up to `max` bytes; null when it is larger. */
async function readBounded(request: Request, max: number): Promise<Uint8Array | null> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (Number.isFinite(declared) && declared > max) return null;
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** Builds the request the memory API sees: same method, path, query, body; hub-set identity headers. */
async function prepareForward(
  request: Request,
  principal: PrincipalLike,
  baseUrl: string,
  serviceToken: string,
  /** The caller's request id (the hub's), else the request's own `X-Request-Id`. */
  callerRequestId?: string,
): Promise<Request | Response> {
  const url = new URL(request.url);
  const requestId = callerRequestId ?? request.headers.get("x-request-id");
  if (!FORWARDABLE.test(url.pathname)) {
    return envelope(new NotFoundError("route", `${request.method} ${url.pathname}`), 404, requestId);
  }
  const hasBody = request.method !== "GET" && request.method !== "HEAD";
  const body = hasBody ? await readBounded(request, MEMORY_LIMITS.requestBodyBytes) : null;
  if (hasBody && body === null) {
    return envelope(new LimitExceededError("request body", MEMORY_LIMITS.requestBodyBytes), 413, requestId);
  }
  // Only these headers cross: the caller's own Authorization and any spoofed principal are dropped.
  const headers = new Headers({
    authorization: `Bearer ${serviceToken}`,
    [PRINCIPAL_HEADER]: encodePrincipal(principal),
  });
  const contentType = request.headers.get("content-type");
  if (contentType) headers.set("content-type", contentType);
  if (requestId) headers.set("x-request-id", requestId);
  return new Request(new URL(`${url.pathname}${url.search}`, baseUrl), {
    method: request.method,
    headers,
    ...(body && body.byteLength > 0 ? { body } : {}),
  });
}

export interface InProcessMemoryClientOptions {
  logger?: Logger;
}

/**
 * The client for the embedded mode: calls the service directly and forwards API requests to an
 * in-memory Hono app (no socket). Its service token is random per process and never leaves it.
 */
export function createInProcessMemoryClient(
  service: MemoryService,
  options: InProcessMemoryClientOptions = {},
): MemoryClient & { app: MemoryApp } {
  const logger = options.logger ?? pino({ level: "silent" });
  const serviceToken = randomBytes(32).toString("base64url");
  const app = createMemoryApp({ service, serviceToken, logger });
  return {
    kind: "in-process",
    app,
    async recall(input) {
      try {
        return { status: "ok", ...service.recall(input) };
      } catch (err) {
        logger.warn({ err, agentId: input.agentId }, "memory recall failed; the task runs without memories");
        return { status: "unavailable", reason: err instanceof Error ? err.message : "recall failed" };
      }
    },
    async forward(request, principal, requestId) {
      const prepared = await prepareForward(
        request,
        principal,
        "http://memory.internal",
        serviceToken,
        requestId,
      );
      if (prepared instanceof Response) return prepared;
      return app.fetch(prepared);
    },
    async health() {
      try {
        service.keyStatus();
        return "ok";
      } catch {
        return "unavailable";
      }
    },
  };
}

export interface HttpMemoryClientOptions {
  /** e.g. `http://127.0.0.1:7710`. */
  baseUrl: string;
  serviceToken: string;
  /** Recall deadline; past it the task runs without memories (default 1500 ms). */
  timeoutMs?: number;
  /** Deadline for forwarded API requests (default 30 s: consolidation can take a while). */
  forwardTimeoutMs?: number;
  fetch?: typeof fetch;
  logger?: Logger;
}

/** The client for split deployments: the memory service over HTTP, with timeouts. */
export function createHttpMemoryClient(options: HttpMemoryClientOptions): MemoryClient {
  const logger = options.logger ?? pino({ level: "silent" });
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 1500;
  const forwardTimeoutMs = options.forwardTimeoutMs ?? 30_000;
  const baseUrl = options.baseUrl.endsWith("/") ? options.baseUrl : `${options.baseUrl}/`;
  return {
    kind: "http",
    async recall(input) {
      let response: Response;
      try {
        response = await doFetch(new URL("internal/recall", baseUrl), {
          method: "POST",
          headers: { authorization: `Bearer ${options.serviceToken}`, "content-type": "application/json" },
          body: JSON.stringify({
            agent_id: input.agentId,
            text: input.text.slice(0, MEMORY_LIMITS.recallTextChars),
            ...(input.topK === undefined ? {} : { top_k: input.topK }),
            ...(input.charBudget === undefined ? {} : { char_budget: input.charBudget }),
          }),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const reason =
          err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")
            ? `timeout after ${timeoutMs} ms`
            : "unreachable";
        logger.warn(
          { reason, agentId: input.agentId },
          "memory service unavailable; the task runs without memories",
        );
        return { status: "unavailable", reason };
      }
      try {
        if (!response.ok) {
          await response.body?.cancel();
          logger.warn({ status: response.status, agentId: input.agentId }, "memory recall refused");
          return { status: "unavailable", reason: `memory service answered ${response.status}` };
        }
        const parsed = RecallResponseSchema.safeParse(await response.json());
        if (!parsed.success) return { status: "unavailable", reason: "malformed recall response" };
        const r = parsed.data;
        return {
          status: "ok",
          block: r.block,
          chars: r.chars,
          count: r.count,
          keys: r.keys,
          entryIds: r.entry_ids,
        };
      } catch {
        return { status: "unavailable", reason: "malformed recall response" };
      }
    },
    async forward(request, principal, requestId) {
      const prepared = await prepareForward(request, principal, baseUrl, options.serviceToken, requestId);
      if (prepared instanceof Response) return prepared;
      try {
        const response = await doFetch(prepared, { signal: AbortSignal.timeout(forwardTimeoutMs) });
        const headers = new Headers();
        const contentType = response.headers.get("content-type");
        if (contentType) headers.set("content-type", contentType);
        return new Response(await response.arrayBuffer(), { status: response.status, headers });
      } catch (err) {
        logger.warn({ err: err instanceof Error ? err.name : "error" }, "memory service unreachable");
        return envelope(
          new UnavailableError("Memory service unavailable"),
          503,
          requestId ?? request.headers.get("x-request-id"),
        );
      }
    },
    async health() {
      try {
        const response = await doFetch(new URL("health", baseUrl), {
          signal: AbortSignal.timeout(timeoutMs),
        });
        await response.body?.cancel();
        return response.ok ? "ok" : "unavailable";
      } catch {
        return "unavailable";
      }
    },
  };
}
