import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import { PERMISSIONS, type WhoAmIResponse } from "@m3shd/protocol";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { isInitializeRequest } from "@modelcontextprotocol/sdk/types.js";
import { Hono } from "hono";
import { protocolErrorOf } from "./errors";
import type { MeshPort } from "./port";
import { createMeshServer, type MeshServer } from "./server";

/*
 * Streamable HTTP, in its own process. Every request to /mcp:
 *  1. passes DNS-rebinding protection (Host, and Origin when a browser sends one, against the
 *     configured allow-lists) before anything else;
 *  2. carries a bearer token, which is validated by the HUB (`GET /api/auth/me` with that token) —
 *     the hub's RBAC is the only authority; without a valid one the answer is a 401 whose
 *     `WWW-Authenticate` points at the RFC 9728 protected-resource metadata;
 *  3. opens a session (initialize) or continues one. A session is bound to the token that opened
 *     it: another token presenting its id is told the session does not exist.
 * Each session has its own MCP server over a port bound to the caller's token, so every tool call
 * is the caller's own hub request.
 */

export interface HttpServerOptions {
  /** The mesh as one token sees it. */
  portFor(token: string): MeshPort;
  /** The endpoint's public URL (`…/mcp`): the RFC 9728 `resource`. */
  resourceUrl: string;
  /** Authorization servers to advertise. */
  authorizationServers: string[];
  /** Accepted Host header values (with or without port). */
  allowedHosts: string[];
  /** Accepted Origin values when a request carries one; empty = Origin not checked. */
  allowedOrigins?: string[];
  pollMs?: number;
  awaitMaxMs?: number;
  /** A session idle this long is closed. Default 30 minutes. */
  sessionIdleMs?: number;
  log?: (err: unknown) => void;
}

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  mesh: MeshServer;
  /** SHA-256 of the token that opened it. */
  tokenHash: Buffer;
  lastSeen: number;
}

const METADATA_PATH = "/.well-known/oauth-protected-resource";

function sha256(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

function jsonRpcError(status: number, code: number, message: string, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/** `localhost:7710` → `localhost`; `[::1]:7710` → `[::1]`. */
function hostnameOf(host: string): string {
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon >= 0 ? host.slice(0, colon) : host;
}

/** The Streamable HTTP app and its sessions. */
export function createHttpApp(options: HttpServerOptions) {
  const log = options.log ?? (() => {});
  const allowed = new Set(options.allowedHosts.map((h) => h.toLowerCase()));
  const origins = new Set(options.allowedOrigins ?? []);
  const sessions = new Map<string, Session>();
  const resource = new URL(options.resourceUrl);
  const metadataUrl = `${resource.origin}${METADATA_PATH}${resource.pathname === "/" ? "" : resource.pathname}`;
  const idleMs = options.sessionIdleMs ?? 30 * 60_000;
  const challenge = (error?: string) =>
    `Bearer resource_metadata="${metadataUrl}"${error ? `, error="${error}"` : ""}`;

  function hostAllowed(host: string | undefined): boolean {
    if (!host) return false;
    const lower = host.toLowerCase();
    return allowed.has(lower) || allowed.has(hostnameOf(lower));
  }

  const app = new Hono();

  // 1. DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
  app.use("*", async (c, next) => {
    if (!hostAllowed(c.req.header("host"))) {
      return jsonRpcError(403, -32000, "Invalid Host header");
    }
    const origin = c.req.header("origin");
    if (origin !== undefined && origins.size > 0 && !origins.has(origin)) {
      return jsonRpcError(403, -32000, "Invalid Origin header");
    }
    return next();
  });

  // RFC 9728 protected-resource metadata, at the root well-known URI and path-suffixed (clients
  // probe `/.well-known/oauth-protected-resource/mcp` first).
  const metadata = () => ({
    resource: options.resourceUrl,
    authorization_servers: options.authorizationServers,
    bearer_methods_supported: ["header"],
    scopes_supported: [...PERMISSIONS],
    resource_name: "M3SHD agent mesh",
    resource_documentation: "https://github.com/m3shd/m3shd/tree/main/apps/mcp",
  });
  app.get(METADATA_PATH, (c) => c.json(metadata()));
  app.get(`${METADATA_PATH}${resource.pathname}`, (c) => c.json(metadata()));

  app.all(resource.pathname, async (c) => {
    // 2. Authentication, by the hub.
    const header = c.req.header("authorization");
    const match = header ? /^Bearer\s+(\S{1,512})\s*$/i.exec(header) : null;
    if (!match?.[1]) {
      return jsonRpcError(401, -32001, "Missing bearer token", { "www-authenticate": challenge() });
    }
    const token = match[1];
    const port = options.portFor(token);
    let me: WhoAmIResponse;
    try {
      me = await port.whoAmI();
    } catch (err) {
      const known = protocolErrorOf(err);
      if (known?.code === "unauthorized") {
        return jsonRpcError(401, -32001, "Invalid or revoked token", {
          "www-authenticate": challenge("invalid_token"),
        });
      }
      log(err);
      return jsonRpcError(503, -32000, "The hub could not be reached to check the token");
    }
    const tokenHash = sha256(token);

    // 3. Session.
    const sessionId = c.req.header("mcp-session-id");
    if (sessionId !== undefined) {
      const session = sessions.get(sessionId);
      if (!session || !timingSafeEqual(session.tokenHash, tokenHash)) {
        return jsonRpcError(404, -32001, "Session not found");
      }
      session.lastSeen = Date.now();
      return session.transport.handleRequest(c.req.raw, {
        authInfo: { token, clientId: me.subject, scopes: me.permissions },
      });
    }
    if (c.req.method !== "POST") {
      return jsonRpcError(400, -32000, "Bad Request: No valid session ID provided");
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return jsonRpcError(400, -32700, "Parse error: Invalid JSON");
    }
    const messages = Array.isArray(body) ? body : [body];
    if (!messages.some((m) => isInitializeRequest(m))) {
      return jsonRpcError(400, -32000, "Bad Request: No valid session ID provided");
    }
    const mesh = createMeshServer({
      port,
      permissions: me.permissions,
      ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
      ...(options.awaitMaxMs !== undefined ? { awaitMaxMs: options.awaitMaxMs } : {}),
      log,
    });
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      // DNS-rebinding protection is the middleware above, for every route and before auth; the
      // transport's own check matches Host exactly (with port), which an allow-list of names
      // (any port, or port 0 at boot) cannot express, so it would only duplicate it.
      ...(origins.size > 0 ? { enableDnsRebindingProtection: true, allowedOrigins: [...origins] } : {}),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, mesh, tokenHash, lastSeen: Date.now() });
      },
      onsessionclosed: (id) => {
        const session = sessions.get(id);
        sessions.delete(id);
        void session?.mesh.close();
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await mesh.server.connect(transport);
    return transport.handleRequest(c.req.raw, {
      parsedBody: body,
      authInfo: { token, clientId: me.subject, scopes: me.permissions },
    });
  });

  const sweep = setInterval(
    () => {
      const now = Date.now();
      for (const [id, session] of sessions) {
        if (now - session.lastSeen > idleMs) {
          sessions.delete(id);
          void session.mesh.close();
        }
      }
    },
    Math.min(idleMs, 60_000),
  );
  sweep.unref();

  return {
    app,
    sessions,
    metadataUrl,
    async close() {
      clearInterval(sweep);
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.all(open.map((s) => s.mesh.close()));
    },
  };
}

/** Default Host allow-list: loopback names plus the public URL's host. */
export function defaultAllowedHosts(resourceUrl: string): string[] {
  const url = new URL(resourceUrl);
  return [
    ...new Set(["localhost", "127.0.0.1", "[::1]", url.hostname.toLowerCase(), url.host.toLowerCase()]),
  ];
}
