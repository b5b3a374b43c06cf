import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { ErrorBodySchema, PERMISSIONS } from "@m3shd/protocol";
import { describe, expect, it, onTestFinished } from "vitest";
import { createMemoryApp } from "../src/app";
import { createHttpMemoryClient, createInProcessMemoryClient } from "../src/client";
import { PRINCIPAL_HEADER, type PrincipalLike } from "../src/http/auth";
import { ListMemoryResponseSchema, StoreMemoryResponseSchema } from "../src/schemas";
import { newService } from "./helpers";

const TOKEN = "client-test-service-token-0123456789abcdef";
const ALPHA: PrincipalLike = {
  subject: "agent:alpha",
  permissions: new Set(["memory:read", "memory:write"]),
  agentId: "alpha",
};
const ADMIN: PrincipalLike = { subject: "master", permissions: PERMISSIONS, agentId: null };

/** Serves the memory app on an ephemeral loopback port. */
async function serveMemory(service: ReturnType<typeof newService>["service"]) {
  const app = createMemoryApp({ service, serviceToken: TOKEN });
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  let open = true;
  const close = () =>
    new Promise<void>((resolve) => {
      if (!open) return resolve();
      open = false;
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      server.close(() => resolve());
    });
  onTestFinished(close);
  return { url: `http://127.0.0.1:${port}`, close };
}

/** A server that accepts and never answers (a hung memory service). */
async function hangingServer(): Promise<string> {
  const server: Server = createServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function hubRequest(path: string, init: RequestInit = {}): Request {
  return new Request(`http://hub.example${path}`, {
    ...init,
    headers: {
      authorization: "Bearer the-callers-own-token",
      "x-request-id": "req-1",
      ...(init.headers ?? {}),
    },
  });
}

describe("in-process MemoryClient", () => {
  it("recalls and forwards API requests with the caller's principal", async () => {
    const { service } = newService();
    service.store({ agentId: "alpha", key: "db host", value: "harbor-db-1" });
    const client = createInProcessMemoryClient(service);
    const recall = await client.recall({ agentId: "alpha", text: "db host?" });
    expect(recall).toMatchObject({ status: "ok", count: 1, keys: ["db host"] });

    const list = await client.forward(hubRequest("/api/agents/alpha/memory"), ALPHA);
    expect(list.status).toBe(200);
    expect(ListMemoryResponseSchema.parse(await list.json()).entries).toHaveLength(1);
    const post = await client.forward(
      hubRequest("/api/agents/alpha/memory", {
        method: "POST",
        body: JSON.stringify({ key: "k", value: "v" }),
        headers: { "content-type": "application/json" },
      }),
      ALPHA,
    );
    expect(post.status).toBe(201);
    StoreMemoryResponseSchema.parse(await post.json());
    // Another agent's memory stays out of reach, whatever headers the caller sends.
    const spoofed = await client.forward(
      hubRequest("/api/agents/beta/memory", { headers: { [PRINCIPAL_HEADER]: "spoof" } }),
      ALPHA,
    );
    expect(spoofed.status).toBe(403);
    // Only the public memory API is forwardable; internal routes are not.
    const internal = await client.forward(
      hubRequest("/internal/recall", { method: "POST", body: "{}" }),
      ADMIN,
    );
    expect(internal.status).toBe(404);
    const tooBig = await client.forward(
      hubRequest("/api/agents/alpha/memory", {
        method: "POST",
        body: "x".repeat(200 * 1024),
        headers: { "content-type": "application/json" },
      }),
      ALPHA,
    );
    expect(tooBig.status).toBe(413);
    expect(await client.health()).toBe("ok");
  });

  it("reports unavailable instead of throwing when the service cannot answer", async () => {
    const { service } = newService();
    const client = createInProcessMemoryClient(service);
    service.close();
    const recall = await client.recall({ agentId: "alpha", text: "anything" });
    expect(recall.status).toBe("unavailable");
    expect(await client.health()).toBe("unavailable");
  });
});

describe("HTTP MemoryClient", () => {
  it("recalls, forwards and checks health against a live service", async () => {
    const { service } = newService();
    service.store({ agentId: "alpha", key: "db host", value: "harbor-db-1" });
    const { url } = await serveMemory(service);
    const client = createHttpMemoryClient({ baseUrl: url, serviceToken: TOKEN });
    expect(
      await client.recall({ agentId: "alpha", text: "db host", topK: 2, charBudget: 400 }),
    ).toMatchObject({
      status: "ok",
      count: 1,
      keys: ["db host"],
    });
    const res = await client.forward(hubRequest("/api/agents/alpha/memory/search?q=harbor"), ALPHA);
    expect(res.status).toBe(200);
    const posted = await client.forward(
      hubRequest("/api/agents/alpha/memory", {
        method: "POST",
        body: JSON.stringify({ key: "owner", value: "Ada", tags: ["people"] }),
        headers: { "content-type": "application/json" },
      }),
      ALPHA,
    );
    expect(posted.status).toBe(201);
    expect(StoreMemoryResponseSchema.parse(await posted.json()).entry).toMatchObject({
      key: "owner",
      value: "Ada",
    });
    const slash = await client.forward(
      hubRequest("/api/agents/alpha/memory/a%2Fb", { method: "DELETE" }),
      ALPHA,
    );
    expect(slash.status).toBe(404);
    const del = await client.forward(
      hubRequest("/api/agents/alpha/memory/db%20host", { method: "DELETE" }),
      ALPHA,
    );
    expect(del.status).toBe(200);
    const denied = await client.forward(hubRequest("/api/memory/search?q=x"), ALPHA);
    expect(denied.status).toBe(403);
    expect(ErrorBodySchema.parse(await denied.json()).error.code).toBe("forbidden");
    expect(await client.health()).toBe("ok");
    const wrongToken = createHttpMemoryClient({ baseUrl: url, serviceToken: `${TOKEN}-wrong` });
    expect(await wrongToken.recall({ agentId: "alpha", text: "x" })).toMatchObject({ status: "unavailable" });
  });

  it("reports unavailable when the service is down, and times out when it hangs", async () => {
    const { service } = newService();
    const { url, close } = await serveMemory(service);
    await close();
    const client = createHttpMemoryClient({ baseUrl: url, serviceToken: TOKEN, timeoutMs: 500 });
    expect(await client.recall({ agentId: "alpha", text: "x" })).toEqual({
      status: "unavailable",
      reason: "unreachable",
    });
    const forwarded = await client.forward(hubRequest("/api/agents/alpha/memory"), ALPHA);
    expect(forwarded.status).toBe(503);
    expect(ErrorBodySchema.parse(await forwarded.json()).error).toMatchObject({
      code: "unavailable",
      request_id: "req-1",
    });
    expect(await client.health()).toBe("unavailable");

    const hung = createHttpMemoryClient({
      baseUrl: await hangingServer(),
      serviceToken: TOKEN,
      timeoutMs: 100,
      forwardTimeoutMs: 100,
    });
    const started = Date.now();
    expect(await hung.recall({ agentId: "alpha", text: "x" })).toEqual({
      status: "unavailable",
      reason: "timeout after 100 ms",
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await hung.forward(hubRequest("/api/agents/alpha/memory"), ALPHA)).status).toBe(503);
  });
});
