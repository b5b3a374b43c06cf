import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  assertRouteResponse,
  buildPath,
  checkRouteResponse,
  defineRoute,
  matchRoute,
  openApiPath,
  type RouteDef,
  rawResponse,
  routeErrorStatuses,
  sseResponse,
} from "./route";
import { HUB_ROUTES, MEMORY_ROUTES } from "./routes";

const getThing = defineRoute({
  id: "things.get",
  method: "GET",
  path: "/api/things/:id",
  permission: "tasks:read",
  summary: "get",
  tags: ["t"],
  params: z.object({ id: z.string() }),
  responses: { 200: z.object({ n: z.int() }), 204: null },
  errors: [404],
});
const rootThing = defineRoute({
  id: "things.root",
  method: "GET",
  path: "/api/things/root",
  permission: "public",
  summary: "root",
  tags: ["t"],
  responses: { 200: rawResponse("text/html"), 201: sseResponse(z.object({})) },
});
const json = "application/json; charset=UTF-8";

describe("route descriptors", () => {
  it("HUB_ROUTES and MEMORY_ROUTES have unique ids and unique method + path", () => {
    for (const routes of [HUB_ROUTES, MEMORY_ROUTES] as readonly (readonly RouteDef[])[]) {
      const ids = routes.map((r) => r.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(new Set(routes.map((r) => `${r.method} ${r.path}`)).size).toBe(routes.length);
      for (const r of routes) {
        expect(Object.keys(r.responses).length, r.id).toBeGreaterThan(0);
        if (r.body) expect(r.bodyLimitBytes, r.id).toBeGreaterThan(0);
      }
    }
  });

  it("defineRoute refuses a body without a body limit", () => {
    expect(() =>
      defineRoute({
        id: "x.y",
        method: "POST",
        path: "/x",
        permission: "public",
        summary: "",
        tags: [],
        body: z.object({}),
        responses: { 200: null },
      }),
    ).toThrow(/bodyLimitBytes/);
  });

  it("matchRoute prefers the route with the fewest parameters", () => {
    const routes = [getThing, rootThing];
    expect(matchRoute(routes, "GET", "/api/things/root")?.id).toBe("things.root");
    expect(matchRoute(routes, "get", "/api/things/42")?.id).toBe("things.get");
    expect(matchRoute(routes, "POST", "/api/things/42")).toBeUndefined();
    expect(matchRoute(routes, "GET", "/api/things/42/more")).toBeUndefined();
    expect(matchRoute(HUB_ROUTES, "GET", "/api/agents/a/memory/search")?.id).toBe("memory.search");
    expect(matchRoute(HUB_ROUTES, "DELETE", "/api/agents/a/memory/search")?.id).toBe("memory.delete");
  });

  it("routeErrorStatuses adds what a route's shape implies", () => {
    expect(routeErrorStatuses(getThing)).toEqual([401, 403, 404, 422, 429]);
    expect(routeErrorStatuses(rootThing)).toEqual([]);
    const create = HUB_ROUTES.find((r) => r.id === "tasks.create");
    expect(create && routeErrorStatuses(create)).toEqual([400, 401, 403, 404, 409, 413, 415, 422, 429]);
  });

  it("checkRouteResponse accepts the declared shapes and names every mismatch", () => {
    const ok = (status: number, body: unknown, contentType: string | null = json) =>
      checkRouteResponse(getThing, { status, contentType, body });
    expect(ok(200, { n: 1 })).toBeNull();
    expect(ok(204, null, null)).toBeNull();
    expect(ok(200, { n: "1" })).toMatch(/does not parse/);
    expect(ok(200, { n: 1 }, "text/plain")).toMatch(/declared JSON/);
    expect(ok(204, { n: 1 })).toMatch(/declared empty/);
    expect(ok(201, {})).toMatch(/undeclared status/);
    expect(ok(404, { error: { code: "not_found", message: "x" } })).toBeNull();
    expect(ok(404, { error: { message: "x" } })).toMatch(/error envelope/);
    expect(ok(409, { error: { code: "conflict", message: "x" } })).toMatch(/undeclared error status/);
    expect(ok(500, { error: { code: "internal", message: "x" } })).toMatch(/undeclared error status/);
    const raw = (status: number, contentType: string) =>
      checkRouteResponse(rootThing, { status, contentType, body: "" });
    expect(raw(200, "text/html; charset=UTF-8")).toBeNull();
    expect(raw(200, "application/json")).toMatch(/declared text\/html/);
    expect(raw(201, "text/event-stream")).toBeNull();
    expect(raw(201, "text/html")).toMatch(/SSE/);
  });

  it("assertRouteResponse throws on a mismatch and on an unknown route that is not a 404 envelope", () => {
    const base = { method: "GET", contentType: json };
    expect(
      assertRouteResponse([getThing], { ...base, url: "/api/things/1?x=1", status: 200, body: { n: 1 } })?.id,
    ).toBe("things.get");
    expect(() =>
      assertRouteResponse([getThing], { ...base, url: "/api/things/1", status: 200, body: {} }),
    ).toThrow(/things\.get/);
    const notFound = { error: { code: "not_found", message: "no route" } };
    expect(
      assertRouteResponse([getThing], { ...base, url: "/nope", status: 404, body: notFound }),
    ).toBeUndefined();
    expect(() => assertRouteResponse([getThing], { ...base, url: "/nope", status: 200, body: {} })).toThrow(
      /matches no route/,
    );
  });

  it("openApiPath and buildPath", () => {
    expect(openApiPath("/api/agents/:id/memory/:key")).toBe("/api/agents/{id}/memory/{key}");
    expect(buildPath("/api/agents/:id/memory/:key", { id: "a", key: "deploy target" })).toBe(
      "/api/agents/a/memory/deploy%20target",
    );
    expect(() => buildPath("/api/tasks/:id", {})).toThrow(/Missing path parameter id/);
  });
});
