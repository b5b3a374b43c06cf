import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { describe, expect, onTestFinished, test } from "vitest";
import { createHttpApp, defaultAllowedHosts } from "../src/http";
import { ALL_PERMISSIONS, MemoryMesh } from "./memory-mesh";

/** The HTTP app on a real loopback port, over a `MemoryMesh`. */
async function startHttp(
  mesh: MemoryMesh,
  extra: { allowedHosts?: string[]; allowedOrigins?: string[] } = {},
) {
  const server = serve({ fetch: (req) => http.app.fetch(req), port: 0, hostname: "127.0.0.1" });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const { port } = server.address() as AddressInfo;
  const resourceUrl = `http://127.0.0.1:${port}/mcp`;
  const http = createHttpApp({
    portFor: (token) => mesh.portFor(token),
    resourceUrl,
    authorizationServers: ["http://127.0.0.1:7700"],
    allowedHosts: extra.allowedHosts ?? defaultAllowedHosts(resourceUrl),
    ...(extra.allowedOrigins ? { allowedOrigins: extra.allowedOrigins } : {}),
    pollMs: 20,
  });
  onTestFinished(async () => {
    await http.close();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: resourceUrl, port, http };
}

async function connect(url: string, token: string) {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: "http-test", version: "0.0.0" });
  await client.connect(transport);
  onTestFinished(() => client.close());
  return { client, transport };
}

/** A raw request with any Host header (fetch does not let a caller set Host). */
function rawRequest(port: number, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<{
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }>((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, path, method: body ? "POST" : "GET", headers },
      (res) => {
        let text = "";
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const INIT = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "raw", version: "0" } },
});
const POST_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

describe("Streamable HTTP", () => {
  test("publishes RFC 9728 metadata at the root and the path-suffixed well-known URIs", async () => {
    const { url, port } = await startHttp(new MemoryMesh());
    for (const path of [
      "/.well-known/oauth-protected-resource",
      "/.well-known/oauth-protected-resource/mcp",
    ]) {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      expect(res.status, path).toBe(200);
      const body = (await res.json()) as { scopes_supported: string[] };
      expect(body).toMatchObject({
        resource: url,
        authorization_servers: ["http://127.0.0.1:7700"],
        bearer_methods_supported: ["header"],
      });
      expect(body.scopes_supported).toContain("tasks:write");
    }
  });

  test("no token or a bad token: 401 with WWW-Authenticate pointing at the metadata", async () => {
    const { url, port } = await startHttp(new MemoryMesh());
    const missing = await fetch(url, { method: "POST", headers: POST_HEADERS, body: INIT });
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe(
      `Bearer resource_metadata="http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp"`,
    );
    const wrong = await fetch(url, {
      method: "POST",
      headers: { ...POST_HEADERS, authorization: "Bearer not-a-token" },
      body: INIT,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("www-authenticate")).toMatch(/resource_metadata=".*", error="invalid_token"/);
    const malformed = await fetch(url, {
      method: "POST",
      headers: { ...POST_HEADERS, authorization: "Basic abc" },
      body: INIT,
    });
    expect(malformed.status).toBe(401);
  });

  test("DNS-rebinding protection: a foreign Host (or Origin) is refused before auth; the allow-list is configurable", async () => {
    const mesh = new MemoryMesh();
    const token = mesh.token("admin", ALL_PERMISSIONS);
    const { port } = await startHttp(mesh);
    const evil = await rawRequest(
      port,
      "/mcp",
      { ...POST_HEADERS, host: "evil.example", authorization: `Bearer ${token}` },
      INIT,
    );
    expect(evil.status).toBe(403);
    expect(evil.body).toMatch(/Invalid Host/);
    const evilMeta = await rawRequest(port, "/.well-known/oauth-protected-resource", {
      host: `evil.example:${port}`,
    });
    expect(evilMeta.status).toBe(403);
    const ok = await rawRequest(
      port,
      "/mcp",
      { ...POST_HEADERS, host: `localhost:${port}`, authorization: `Bearer ${token}` },
      INIT,
    );
    expect(ok.status).toBe(200);

    const custom = await startHttp(mesh, { allowedHosts: ["mesh.internal"] });
    const allowed = await rawRequest(custom.port, "/.well-known/oauth-protected-resource", {
      host: "mesh.internal",
    });
    expect(allowed.status).toBe(200);
    const loopback = await rawRequest(custom.port, "/.well-known/oauth-protected-resource", {
      host: `127.0.0.1:${custom.port}`,
    });
    expect(loopback.status).toBe(403);

    const withOrigins = await startHttp(mesh, { allowedOrigins: ["https://app.example"] });
    const host = `127.0.0.1:${withOrigins.port}`;
    const foreign = await rawRequest(withOrigins.port, "/.well-known/oauth-protected-resource", {
      host,
      origin: "https://evil.example",
    });
    expect(foreign.status).toBe(403);
    const same = await rawRequest(withOrigins.port, "/.well-known/oauth-protected-resource", {
      host,
      origin: "https://app.example",
    });
    expect(same.status).toBe(200);
  });

  test("the SDK client works over it; tools/list follows the token's permissions as the hub reports them", async () => {
    const mesh = new MemoryMesh();
    const { url } = await startHttp(mesh);
    const full = await connect(url, mesh.token("admin", ALL_PERMISSIONS));
    expect((await full.client.listTools()).tools).toHaveLength(17);
    const dispatched = await full.client.callTool({
      name: "dispatch_task",
      arguments: { title: "t", prompt: "p", capability: "echo" },
    });
    expect(dispatched.isError ?? false).toBe(false);
    expect(mesh.calls).toContain("createTask:key:admin");

    const weak = await connect(url, mesh.token("viewer", ["tasks:read"]));
    const names = (await weak.client.listTools()).tools.map((t) => t.name);
    expect(names).toContain("get_task");
    expect(names).not.toContain("dispatch_task");
    expect(names).not.toContain("list_agents");
  });

  test("a session is bound to its token; a revoked token is refused on its next request", async () => {
    const mesh = new MemoryMesh();
    const { url, http } = await startHttp(mesh);
    const a = await connect(url, mesh.token("a", ALL_PERMISSIONS));
    const sessionId = a.transport.sessionId;
    expect(sessionId).toBeTruthy();
    expect(http.sessions.size).toBe(1);
    const hijack = await fetch(url, {
      method: "POST",
      headers: {
        ...POST_HEADERS,
        authorization: `Bearer ${mesh.token("b", ALL_PERMISSIONS)}`,
        "mcp-session-id": String(sessionId),
        "mcp-protocol-version": "2025-11-25",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" }),
    });
    expect(hijack.status).toBe(404);

    mesh.tokens.delete("a");
    await expect(a.client.listTools()).rejects.toThrow();
  });
});
