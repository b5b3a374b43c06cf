import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { serve } from "@hono/node-server";
import type { ErrorBody } from "@m3shd/protocol";
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import { type Hub, SECURE_HEADERS_OPTIONS } from "./app";

/** The exact headers the app's `secureHeaders` middleware sets, captured once from a bare app. */
async function securityHeaders(): Promise<[string, string][]> {
  const probe = new Hono().use(secureHeaders(SECURE_HEADERS_OPTIONS)).get("/", (c) => c.body(null, 204));
  const res = await probe.request("/");
  return [...res.headers.entries()];
}

/**
 * Answers requests Node's own HTTP parser refused (malformed request line or headers, headers too
 * large, a broken chunked body, a header timeout) — they never reach the app, so without this they
 * get Node's bare `400 Bad Request` with no error envelope and no security headers.
 */
export function parserErrorResponse(
  err: NodeJS.ErrnoException,
  headers: readonly [string, string][],
): { status: number; raw: string; requestId: string } {
  const status =
    err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  const requestId = randomUUID();
  const body: ErrorBody = {
    error: {
      code: status === 431 ? "payload_too_large" : "bad_request",
      message:
        status === 431
          ? "Request headers are too large"
          : status === 408
            ? "Request headers were not received in time"
            : "Malformed HTTP request",
      request_id: requestId,
    },
  };
  const json = JSON.stringify(body);
  const reason =
    status === 431 ? "Request Header Fields Too Large" : status === 408 ? "Request Timeout" : "Bad Request";
  const lines = [
    `HTTP/1.1 ${status} ${reason}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(json)}`,
    `X-Request-Id: ${requestId}`,
    "Connection: close",
    ...headers.map(([k, v]) => `${k}: ${v}`),
  ];
  return { status, raw: `${lines.join("\r\n")}\r\n\r\n${json}`, requestId };
}

export interface ServedHub {
  url: string;
  port: number;
  /** Stop accepting, end streams and long-polls, wait for in-flight requests (bounded). */
  close(): Promise<void>;
}

/** Serves a hub over HTTP on `host:port` (port 0 picks a free one). */
export async function serveHub(hub: Hub, options: { host: string; port: number }): Promise<ServedHub> {
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: hub.app.fetch, hostname: options.host, port: options.port }, () =>
      resolve(s as Server),
    );
    s.once("error", reject);
  });
  const headers = await securityHeaders();
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => {
    // Same rule as Node's default handler: answer only while no response has started on this
    // socket and it can still be written; a reset connection has no one to answer.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (err.code === "ECONNRESET" || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const answer = parserErrorResponse(err, headers);
    hub.ctx.logger.warn(
      { request_id: answer.requestId, status: answer.status, code: err.code },
      "http parser refused a request",
    );
    socket.end(answer.raw);
  });
  // Long-polls hold connections for up to 30 s; keep idle sockets alive a little longer than that.
  server.keepAliveTimeout = 35_000;
  server.headersTimeout = 36_000;
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    async close() {
      hub.close();
      await new Promise<void>((resolve) => {
        // In-flight requests get a grace period; then every socket is cut — a keep-alive client
        // that keeps sending must not be served by a hub whose database is about to close.
        const timer = setTimeout(() => {
          server.closeAllConnections();
          resolve();
        }, 5000);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
