import { ErrorBodySchema, MEMORY_ROUTES, PERMISSIONS } from "@m3shd/protocol";
import { registeredDescriptors } from "@m3shd/service-kit";
import { describe, expect, it } from "vitest";
import { createMemoryApp } from "../src/app";
import { encodePrincipal, PRINCIPAL_HEADER, type PrincipalLike, ROUTE_PERMISSION } from "../src/http/auth";
import {
  ConsolidateResponseSchema,
  DeleteMemoryResponseSchema,
  ListMemoryResponseSchema,
  RecallResponseSchema,
  SearchMemoryResponseSchema,
  StoreMemoryResponseSchema,
} from "../src/schemas";
import { assertMemoryContract } from "./contract";
import { newService } from "./helpers";

const TOKEN = "test-service-token-0123456789abcdef0123456789";
const ADMIN: PrincipalLike = { subject: "master", permissions: PERMISSIONS, agentId: null };
const ALPHA: PrincipalLike = {
  subject: "agent:alpha",
  permissions: ["memory:read", "memory:write"],
  agentId: "alpha",
};
const OPERATOR: PrincipalLike = { subject: "key:ops", permissions: ["memory:read"], agentId: null };
const NO_MEMORY: PrincipalLike = { subject: "agent:alpha", permissions: ["tasks:read"], agentId: "alpha" };

function setup() {
  const { service } = newService();
  const app = createMemoryApp({ service, serviceToken: TOKEN });
  const call = async (
    method: string,
    path: string,
    options: {
      principal?: PrincipalLike | null;
      body?: unknown;
      raw?: string;
      token?: string | null;
      contentType?: string;
    } = {},
  ) => {
    const headers: Record<string, string> = {};
    const token = options.token === undefined ? TOKEN : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const principal = options.principal === undefined ? ADMIN : options.principal;
    if (principal) headers[PRINCIPAL_HEADER] = encodePrincipal(principal);
    let body: string | undefined;
    if (options.raw !== undefined) body = options.raw;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
    const res = await app.request(path, { method, headers, ...(body === undefined ? {} : { body }) });
    const contentType = res.headers.get("content-type");
    const json: unknown = contentType?.includes("json") ? await res.json() : null;
    // Every response is checked against its route's descriptor in MEMORY_ROUTES.
    assertMemoryContract({ method, url: path, status: res.status, contentType, body: json });
    return { status: res.status, json };
  };
  return { service, app, call };
}

function errorCode(json: unknown): string {
  return ErrorBodySchema.parse(json).error.code;
}

describe("memory HTTP API", () => {
  it("POST /api/agents/:id/memory: happy, errors, auth", async () => {
    const { call } = setup();
    const created = await call("POST", "/api/agents/alpha/memory", {
      principal: ALPHA,
      body: { key: "deploy target", value: "staging", tags: ["ops"], confidence: 0.8 },
    });
    expect(created.status).toBe(201);
    const body = StoreMemoryResponseSchema.parse(created.json);
    expect(body).toMatchObject({
      status: "created",
      entry: { agent_id: "alpha", key: "deploy target", tags: ["ops"] },
    });
    const same = await call("POST", "/api/agents/alpha/memory", {
      principal: ALPHA,
      body: { key: "deploy target", value: "staging", tags: ["ops"], confidence: 0.8 },
    });
    expect(same.status).toBe(200);
    expect(StoreMemoryResponseSchema.parse(same.json).status).toBe("unchanged");

    const cases: [string, Parameters<typeof call>[2], number, string][] = [
      ["other agent", { principal: ALPHA, body: { key: "k", value: "v" } }, 403, "forbidden"],
      ["no token", { token: null, body: { key: "k", value: "v" } }, 401, "unauthorized"],
      ["wrong token", { token: `${TOKEN}x`, body: { key: "k", value: "v" } }, 401, "unauthorized"],
      ["no principal", { principal: null, body: { key: "k", value: "v" } }, 401, "unauthorized"],
      ["no permission", { principal: NO_MEMORY, body: { key: "k", value: "v" } }, 403, "forbidden"],
      ["read-only operator", { principal: OPERATOR, body: { key: "k", value: "v" } }, 403, "forbidden"],
    ];
    for (const [name, options, status, code] of cases) {
      const res = await call("POST", "/api/agents/beta/memory", options);
      expect([name, res.status]).toEqual([name, status]);
      expect(errorCode(res.json)).toBe(code);
    }
    const bad: [string, Parameters<typeof call>[2], number, string][] = [
      ["bad json", { raw: "{nope" }, 400, "bad_request"],
      ["not json", { raw: "key=v", contentType: "text/plain" }, 415, "unsupported_media_type"],
      ["missing value", { body: { key: "k" } }, 422, "validation_failed"],
      ["extra field", { body: { key: "k", value: "v", admin: true } }, 422, "validation_failed"],
      ["confidence", { body: { key: "k", value: "v", confidence: 2 } }, 422, "validation_failed"],
      ["empty key", { body: { key: " ", value: "v" } }, 422, "validation_failed"],
      ["value too large", { body: { key: "k", value: "x".repeat(16 * 1024 + 1) } }, 413, "payload_too_large"],
      [
        "too many tags",
        { body: { key: "k", value: "v", tags: Array.from({ length: 17 }, (_, i) => `t${i}`) } },
        413,
        "payload_too_large",
      ],
      ["body too large", { body: { key: "k", value: "x".repeat(200 * 1024) } }, 413, "payload_too_large"],
    ];
    for (const [name, options, status, code] of bad) {
      const res = await call("POST", "/api/agents/alpha/memory", options);
      expect([name, res.status]).toEqual([name, status]);
      expect(errorCode(res.json)).toBe(code);
    }
    const badPath = await call("POST", "/api/agents/Not_An_Agent/memory", { body: { key: "k", value: "v" } });
    expect(badPath.status).toBe(422);
    const pattern = await call("POST", "/api/agents/_mesh/memory", { body: { key: "k", value: "v" } });
    expect(pattern.status).toBe(403);
  });

  it("GET /api/agents/:id/memory: list with filters and cursor; isolation", async () => {
    const { call, service } = setup();
    for (let i = 0; i < 5; i++)
      service.store({ agentId: "alpha", key: `k${i}`, value: `v${i}`, tags: i < 2 ? ["x"] : [] });
    service.store({ agentId: "beta", key: "b", value: "beta only" });
    const page = await call("GET", "/api/agents/alpha/memory?limit=3", { principal: ALPHA });
    expect(page.status).toBe(200);
    const first = ListMemoryResponseSchema.parse(page.json);
    expect(first.entries).toHaveLength(3);
    const rest = await call("GET", `/api/agents/alpha/memory?limit=3&cursor=${first.next_cursor}`, {
      principal: ALPHA,
    });
    expect(ListMemoryResponseSchema.parse(rest.json).entries).toHaveLength(2);
    const tagged = await call("GET", "/api/agents/alpha/memory?tag=x", { principal: ALPHA });
    expect(ListMemoryResponseSchema.parse(tagged.json).entries).toHaveLength(2);

    expect((await call("GET", "/api/agents/beta/memory", { principal: ALPHA })).status).toBe(403);
    expect((await call("GET", "/api/agents/beta/memory", { principal: OPERATOR })).status).toBe(200);
    expect((await call("GET", "/api/agents/beta/memory", { principal: NO_MEMORY })).status).toBe(403);
    expect((await call("GET", "/api/agents/beta/memory", { token: null })).status).toBe(401);
    expect((await call("GET", "/api/agents/alpha/memory?limit=0")).status).toBe(422);
    expect((await call("GET", "/api/agents/alpha/memory?limit=abc")).status).toBe(422);
    expect((await call("GET", "/api/agents/alpha/memory?since=-5")).status).toBe(422);
    expect((await call("GET", "/api/agents/alpha/memory?cursor=%25%25")).status).toBe(422);
    expect((await call("GET", "/api/agents/alpha/memory?cursor=Zm9v")).status).toBe(422);
    expect((await call("GET", "/api/agents/_mesh/memory", { principal: OPERATOR })).status).toBe(403);
    expect((await call("GET", "/api/agents/_mesh/memory", { principal: ADMIN })).status).toBe(200);
  });

  it("GET /api/agents/:id/memory/search: ranked results, hostile queries are 200, limits are 4xx", async () => {
    const { call, service } = setup();
    service.store({ agentId: "alpha", key: "harbor", value: "the lighthouse keeper is Ada" });
    service.store({ agentId: "beta", key: "harbor", value: "the lighthouse is red" });
    const res = await call(
      "GET",
      `/api/agents/alpha/memory/search?q=${encodeURIComponent("lighthouse keeper")}`,
      {
        principal: ALPHA,
      },
    );
    expect(res.status).toBe(200);
    const body = SearchMemoryResponseSchema.parse(res.json);
    expect(body.results.map((r) => r.entry.value)).toEqual(["the lighthouse keeper is Ada"]);
    expect(body.terms).toBe(2);
    for (const q of [
      '"',
      "NEAR(",
      "col:x",
      "*",
      "((",
      "🙂",
      "a AND",
      "x".repeat(10 * 1024),
      "\u0000",
      "'; DROP TABLE entries;--",
    ]) {
      const hostile = await call("GET", `/api/agents/alpha/memory/search?q=${encodeURIComponent(q)}`, {
        principal: ALPHA,
      });
      expect([q.slice(0, 20), hostile.status]).toEqual([q.slice(0, 20), 200]);
      SearchMemoryResponseSchema.parse(hostile.json);
    }
    const huge = await call("GET", `/api/agents/alpha/memory/search?q=${"x".repeat(16 * 1024 + 1)}`, {
      principal: ALPHA,
    });
    expect(huge.status).toBe(413);
    expect((await call("GET", "/api/agents/alpha/memory/search", { principal: ALPHA })).status).toBe(422);
    expect(
      (await call("GET", "/api/agents/beta/memory/search?q=lighthouse", { principal: ALPHA })).status,
    ).toBe(403);
    expect((await call("GET", "/api/agents/alpha/memory/search?q=x&tag=", { principal: ALPHA })).status).toBe(
      422,
    );
  });

  it("DELETE /api/agents/:id/memory/:key", async () => {
    const { call, service } = setup();
    service.store({ agentId: "alpha", key: "deploy target", value: "staging" });
    service.store({ agentId: "beta", key: "x", value: "y" });
    expect((await call("DELETE", "/api/agents/beta/memory/x", { principal: ALPHA })).status).toBe(403);
    expect(
      (await call("DELETE", "/api/agents/alpha/memory/deploy%20target", { principal: OPERATOR })).status,
    ).toBe(403);
    const res = await call("DELETE", "/api/agents/alpha/memory/Deploy%20Target", { principal: ALPHA });
    expect(res.status).toBe(200);
    expect(DeleteMemoryResponseSchema.parse(res.json)).toEqual({ deleted: true, key: "Deploy Target" });
    const again = await call("DELETE", "/api/agents/alpha/memory/deploy%20target", { principal: ALPHA });
    expect(again.status).toBe(404);
    expect(errorCode(again.json)).toBe("not_found");
    expect(
      (await call("DELETE", `/api/agents/alpha/memory/${"k".repeat(900)}`, { principal: ALPHA })).status,
    ).toBe(422);
    expect(
      (await call("DELETE", `/api/agents/alpha/memory/${"k".repeat(300)}`, { principal: ALPHA })).status,
    ).toBe(413);
  });

  it("POST /api/memory/consolidate and GET /api/memory/search: admin vs agent", async () => {
    const { call, service } = setup();
    service.store({ agentId: "alpha", key: "a b", value: "turquoise" });
    service.store({ agentId: "alpha", key: "a_b", value: "turquoise" });
    service.store({ agentId: "beta", key: "a b", value: "turquoise" });

    expect((await call("POST", "/api/memory/consolidate", { principal: ALPHA, body: {} })).status).toBe(403);
    expect(
      (await call("POST", "/api/memory/consolidate", { principal: ALPHA, body: { agent_id: "beta" } }))
        .status,
    ).toBe(403);
    const own = await call("POST", "/api/memory/consolidate", {
      principal: ALPHA,
      body: { agent_id: "alpha" },
    });
    expect(own.status).toBe(200);
    expect(ConsolidateResponseSchema.parse(own.json)).toMatchObject({
      agents: 1,
      duplicates: 1,
      patterns: 0,
    });
    const all = await call("POST", "/api/memory/consolidate", { principal: ADMIN });
    expect(ConsolidateResponseSchema.parse(all.json)).toMatchObject({
      agents: 2,
      patterns: 1,
      changed: true,
    });
    expect(
      (await call("POST", "/api/memory/consolidate", { principal: ADMIN, body: { agent_id: "Bad!" } }))
        .status,
    ).toBe(422);

    const cross = await call("GET", "/api/memory/search?q=turquoise", { principal: ADMIN });
    expect(
      new Set(SearchMemoryResponseSchema.parse(cross.json).results.map((r) => r.entry.agent_id)),
    ).toEqual(new Set(["alpha", "beta", "_mesh"]));
    const some = await call("GET", "/api/memory/search?q=turquoise&agents=beta,_mesh", { principal: ADMIN });
    expect(SearchMemoryResponseSchema.parse(some.json).results).toHaveLength(2);
    expect((await call("GET", "/api/memory/search?q=turquoise", { principal: ALPHA })).status).toBe(403);
    expect((await call("GET", "/api/memory/search?q=turquoise", { principal: OPERATOR })).status).toBe(403);
    expect(
      (await call("GET", "/api/memory/search?q=turquoise&agents=a,B!", { principal: ADMIN })).status,
    ).toBe(422);
  });

  it("POST /internal/recall needs only the service token; GET /health is public; unknown routes 404", async () => {
    const { call, service } = setup();
    service.store({ agentId: "alpha", key: "db host", value: "harbor-db-1" });
    const res = await call("POST", "/internal/recall", {
      principal: null,
      body: { agent_id: "alpha", text: "which db host?", top_k: 3, char_budget: 500 },
    });
    expect(res.status).toBe(200);
    expect(RecallResponseSchema.parse(res.json)).toMatchObject({ count: 1, keys: ["db host"] });
    expect(
      (await call("POST", "/internal/recall", { token: null, body: { agent_id: "alpha", text: "x" } }))
        .status,
    ).toBe(401);
    expect((await call("POST", "/internal/recall", { body: { agent_id: "alpha" } })).status).toBe(422);
    expect(
      (await call("POST", "/internal/recall", { body: { agent_id: "alpha", text: "x", char_budget: -1 } }))
        .status,
    ).toBe(422);
    expect((await call("GET", "/health", { token: null, principal: null })).status).toBe(200);
    const missing = await call("GET", "/api/nope");
    expect(missing.status).toBe(404);
    expect(errorCode(missing.json)).toBe("not_found");
  });

  it("malformed principal headers are 401, never 500", async () => {
    const { app } = setup();
    for (const header of [
      "",
      "%%%",
      "e30",
      Buffer.from('{"subject":"x","permissions":"all","agent_id":null}').toString("base64url"),
      "a".repeat(9000),
    ]) {
      const res = await app.request("/api/agents/alpha/memory", {
        headers: { authorization: `Bearer ${TOKEN}`, [PRINCIPAL_HEADER]: header },
      });
      expect(res.status).toBe(401);
      assertMemoryContract({
        method: "GET",
        url: "/api/agents/alpha/memory",
        status: res.status,
        contentType: res.headers.get("content-type"),
        body: await res.json(),
      });
    }
  });

  it("never answers 500 to random bodies and paths", async () => {
    const { call } = setup();
    const bodies: unknown[] = [
      null,
      1,
      "s",
      [],
      [1],
      { key: 1 },
      { key: "k", value: 1 },
      { key: "k", value: "v", tags: "x" },
      { key: "k", value: "v", tags: [1] },
      { key: "k", value: "v", source_task_id: "x" },
      { key: "\u0000", value: "\u0000" },
      { key: "k", value: "v", tags: ["\u0007"] },
    ];
    for (const body of bodies) {
      const res = await call("POST", "/api/agents/alpha/memory", { body });
      expect(res.status, JSON.stringify(body)).toBeLessThan(500);
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
    for (const path of [
      "/api/agents/%00/memory",
      "/api/agents/alpha/memory/%FF",
      "/api/agents//memory",
      "/api/agents/alpha/memory/search?q=%E0%A4%A",
    ]) {
      expect((await call("GET", path)).status, path).toBeLessThan(500);
    }
  });

  it("every route declares its permission", () => {
    const { app } = setup();
    const declared = new Map<string, unknown[]>();
    for (const route of app.routes) {
      if (route.path === "/*") continue;
      const marker = (route.handler as unknown as Record<symbol, unknown>)[ROUTE_PERMISSION];
      const key = `${route.method} ${route.path}`;
      declared.set(key, [...(declared.get(key) ?? []), ...(marker === undefined ? [] : [marker])]);
    }
    for (const [route, markers] of declared) expect(markers, route).toHaveLength(1);
    expect(declared.get("POST /api/agents/:id/memory")).toEqual(["memory:write"]);
    expect(declared.get("GET /api/agents/:id/memory/search")).toEqual(["memory:read"]);
    expect(declared.get("POST /internal/recall")).toEqual(["service"]);
    expect(declared.size).toBe(8);
  });

  it("serves exactly MEMORY_ROUTES, each registered through its descriptor", () => {
    const { app } = setup();
    const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;
    const served = new Set(app.routes.filter((r) => r.method !== "ALL").map(key));
    expect(served).toEqual(new Set(MEMORY_ROUTES.map(key)));
    const registered = registeredDescriptors(app);
    for (const route of MEMORY_ROUTES) expect(registered.get(key(route)), key(route)).toBe(route.id);
    expect(registered.size).toBe(MEMORY_ROUTES.length);
    // The permission each route enforces is the one its descriptor declares.
    for (const r of app.routes) {
      const marker = (r.handler as unknown as Record<symbol, unknown>)[ROUTE_PERMISSION];
      if (marker === undefined) continue;
      expect(marker, key(r)).toBe(MEMORY_ROUTES.find((d) => key(d) === key(r))?.permission);
    }
  });

  it("refuses a short service token", () => {
    const { service } = newService();
    expect(() => createMemoryApp({ service, serviceToken: "short" })).toThrow(/at least 32/);
  });
});
