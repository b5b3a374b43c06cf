import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { HUB_ROUTES, MEMORY_ROUTES, openApiPath } from "@m3shd/protocol";
import { Validator } from "@seriousme/openapi-schema-validator";
import { describe, expect } from "vitest";
import { extractFieldDescriptions } from "../scripts/extract-descriptions";
import { buildOpenApiDocument, PERMISSION_EXTENSION, serializeOpenApiDocument } from "../src/openapi";
import { FIELD_DESCRIPTIONS } from "../src/openapi-descriptions.generated";
import { registeredDescriptors } from "../src/routes/define";
import { DOCS_CSP } from "../src/routes/docs";
import { assertContract } from "./contract";
import { hubTest as test } from "./fixture";

/**
 * The hub's routes and the descriptors are one set: every route the app serves was registered
 * through `handle` for a descriptor in `HUB_ROUTES`, and every descriptor is served. The OpenAPI
 * document generated from them is valid OpenAPI 3.1, covers exactly the app's routes, and is the
 * committed docs/openapi.json.
 */

const DOC = fileURLToPath(new URL("../../../docs/openapi.json", import.meta.url));
const PROTOCOL_SRC = fileURLToPath(new URL("../../../packages/protocol/src", import.meta.url));
const key = (r: { method: string; path: string }) => `${r.method} ${r.path}`;

describe("route descriptors", () => {
  test("the app's routes and HUB_ROUTES are the same set, each registered through its descriptor", ({
    hub,
  }) => {
    const served = new Set(hub.app.routes.filter((r) => r.method !== "ALL").map(key));
    const declared = new Set(HUB_ROUTES.map(key));
    expect(
      [...served].filter((k) => !declared.has(k)),
      "served without a descriptor",
    ).toEqual([]);
    expect(
      [...declared].filter((k) => !served.has(k)),
      "declared but not served",
    ).toEqual([]);
    const registered = registeredDescriptors(hub.app);
    for (const route of HUB_ROUTES) expect(registered.get(key(route)), key(route)).toBe(route.id);
    // Only routes, not middleware, carry a descriptor; and exactly one final handler each.
    expect(registered.size).toBe(HUB_ROUTES.length);
  });

  test("ids are unique and `<area>.<verb>`; method + path unique", () => {
    const ids = HUB_ROUTES.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+(-[a-z]+)*\.[a-z][A-Za-z]*$/);
    expect(new Set(HUB_ROUTES.map(key)).size).toBe(HUB_ROUTES.length);
  });

  test("the contract check fails on a body that does not parse and on an undeclared status", () => {
    const task = { method: "GET", url: "/api/tasks/task_x", contentType: "application/json" };
    expect(() => assertContract({ ...task, status: 200, body: { task: { id: 1 } } })).toThrow(
      /does not parse/,
    );
    expect(() => assertContract({ ...task, status: 201, body: {} })).toThrow(/undeclared status/);
    expect(() => assertContract({ ...task, status: 409, body: {} })).toThrow(/undeclared error status/);
    expect(() => assertContract({ ...task, status: 404, body: { error: { message: "no code" } } })).toThrow(
      /error envelope/,
    );
    expect(() =>
      assertContract({ method: "GET", url: "/api/nope", status: 200, contentType: null, body: null }),
    ).toThrow(/matches no route/);
  });
});

describe("OpenAPI document", () => {
  const document = buildOpenApiDocument();

  test("validates against the OpenAPI 3.1 schema", async () => {
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.valid, JSON.stringify(result.errors ?? null).slice(0, 2000)).toBe(true);
    expect(validator.version).toBe("3.1");
    // The validator can fail: a parameter `in: "body"` (OpenAPI 2 style) is refused.
    const broken = structuredClone(document) as {
      paths: Record<string, Record<string, { parameters?: { in: string }[] }>>;
    };
    const param = broken.paths["/api/tasks/{id}"]?.get?.parameters?.[0];
    expect(param).toBeDefined();
    if (param) param.in = "body";
    expect((await new Validator().validate(broken)).valid).toBe(false);
  });

  test("covers every route the app serves, no more, with its permission and id", ({ hub }) => {
    const paths = document.paths as Record<string, Record<string, Record<string, unknown>>>;
    const inDocument = Object.entries(paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    // app.routes lists each middleware of a route too: compare distinct method + path.
    const served = new Set(
      hub.app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${openApiPath(r.path)}`),
    );
    expect(new Set(inDocument)).toEqual(served);
    expect(inDocument.length).toBe(served.size);
    for (const route of HUB_ROUTES) {
      const op = paths[openApiPath(route.path)]?.[route.method.toLowerCase()];
      expect(op?.operationId).toBe(route.id);
      expect(op?.[PERMISSION_EXTENSION]).toBe(route.permission);
      expect(op?.security).toEqual(route.permission === "public" ? [] : [{ bearer: [] }, { cookie: [] }]);
    }
    expect(MEMORY_ROUTES.filter((r) => r.permission === "service").every((r) => !paths[r.path])).toBe(true);
  });

  test("documents the error envelope on every error status and carries field descriptions", () => {
    const paths = document.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
    const tasks = paths["/api/tasks"]?.post?.responses as Record<string, { content?: unknown }>;
    expect(JSON.stringify(tasks["422"]?.content)).toContain("#/components/schemas/ErrorBody");
    const schemas = (
      document.components as {
        schemas: Record<string, { properties?: Record<string, { description?: string }> }>;
      }
    ).schemas;
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(["ErrorBody", "Task", "MeshEvent"]));
    // The protocol's JSDoc reaches the document as field descriptions, on the right fields only.
    const task = schemas.Task?.properties ?? {};
    expect(task.depends_on?.description).toMatch(/^Parent task ids/);
    expect(task.created_at?.description).toBeUndefined();
    expect(schemas.Approval?.properties?.expires_at?.description).toMatch(/auto-expires/);
    const described = JSON.stringify(document).match(/"description":/g)?.length ?? 0;
    expect(described).toBeGreaterThan(500);
  });

  test("the generated field descriptions are the protocol's current JSDoc (`pnpm openapi`)", () => {
    expect(FIELD_DESCRIPTIONS).toEqual(extractFieldDescriptions(PROTOCOL_SRC));
    expect(Object.keys(FIELD_DESCRIPTIONS).length).toBeGreaterThan(40);
  });

  test("is the committed docs/openapi.json (regenerate with `pnpm openapi`)", () => {
    expect(readFileSync(DOC, "utf8"), "docs/openapi.json is stale: run `pnpm openapi`").toBe(
      serializeOpenApiDocument(document),
    );
  });

  test("is served at GET /api/openapi.json without credentials", async ({ call }) => {
    const res = await call("GET", "/api/openapi.json", { token: null });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(document);
  });

  test("the docs page and its assets are served by the hub, under the docs CSP only", async ({ call }) => {
    const page = await call("GET", "/docs", { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toBe(DOCS_CSP);
    const scripts = [...String(page.body).matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    expect(scripts.length).toBeGreaterThanOrEqual(4);
    for (const src of scripts) {
      // Same origin only: the machine has no internet and the CSP is 'self'.
      expect(src.startsWith("/docs/assets/"), src).toBe(true);
      const asset = await call("GET", src, { token: null });
      expect(asset.status, src).toBe(200);
      expect(asset.headers.get("content-security-policy")).toBe(DOCS_CSP);
    }
    expect(String(page.body)).not.toMatch(/<script>(?!<)/);
    expect((await call("GET", "/docs/assets/package.json", { token: null })).status).toBe(404);
    expect((await call("GET", "/docs/assets/..%2Fpackage.json", { token: null })).status).toBe(422);
    const api = await call("GET", "/api/health", { token: null });
    expect(api.headers.get("content-security-policy")).toBe(
      "default-src 'self'; frame-ancestors 'none'; object-src 'none'",
    );
  });
});
