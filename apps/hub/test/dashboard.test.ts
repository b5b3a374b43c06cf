import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorBodySchema } from "@m3shd/protocol";
import { describe, expect, onTestFinished, test } from "vitest";
import { MASTER, SECURITY_HEADERS, startTestHub } from "./security-fixture";

/** A build directory laid out as `apps/dashboard/build.mjs` writes it. */
function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), "m3shd-dash-build-"));
  mkdirSync(join(dir, "assets"));
  writeFileSync(
    join(dir, "index.html"),
    '<!doctype html><script type="module" src="/assets/app-ABCD1234.js"></script>',
  );
  writeFileSync(join(dir, "assets", "app-ABCD1234.js"), "console.log(1)");
  writeFileSync(join(dir, "assets", "app-ABCD1234.css"), "body{}");
  writeFileSync(join(dir, "sw.js"), "self.addEventListener('fetch',()=>{})");
  writeFileSync(join(dir, "manifest.webmanifest"), "{}");
  writeFileSync(join(dir, "icon.svg"), "<svg/>");
  writeFileSync(join(dir, "secret.txt"), "must never be served");
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe("the dashboard's static files", () => {
  test("serves the build: index no-cache, hashed assets immutable, strict CSP on every answer", async () => {
    const t = await startTestHub({ config: { dashboard: { dir: fakeBuild() } } });
    const index = await t.call("GET", "/");
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toMatch(/^text\/html/);
    expect(index.headers.get("cache-control")).toBe("no-cache");
    expect(index.text).toContain("/assets/app-ABCD1234.js");
    const js = await t.call("GET", "/assets/app-ABCD1234.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    const css = await t.call("GET", "/assets/app-ABCD1234.css");
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
    for (const [path, type] of [
      ["/sw.js", /^text\/javascript/],
      ["/manifest.webmanifest", /^application\/manifest\+json/],
      ["/icon.svg", /^image\/svg\+xml/],
    ] as const) {
      const res = await t.call("GET", path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toMatch(type);
      expect(res.headers.get("cache-control"), path).toBe("no-cache");
    }
    for (const res of [index, js, css]) {
      for (const [h, v] of Object.entries(SECURITY_HEADERS)) expect(res.headers.get(h)).toBe(v);
    }
  });

  test("names outside the hashed-asset pattern are 404/422 envelopes, never files (no traversal)", async () => {
    const t = await startTestHub({ config: { dashboard: { dir: fakeBuild() } } });
    for (const path of [
      "/assets/..%2Fsecret.txt",
      "/assets/secret.txt",
      "/assets/app-abcd1234.js",
      "/assets/app-ZZZZ9999.js",
      "/secret.txt",
      "/assets/%2e%2e%2findex.html",
    ]) {
      const res = await t.call("GET", path);
      // 422: not a file name at all (the descriptor's pattern); 404: not a hashed asset of the build.
      expect([404, 422], path).toContain(res.status);
      expect(ErrorBodySchema.safeParse(res.body).success, path).toBe(true);
      expect(res.text).not.toContain("must never be served");
    }
    // An unknown API path is still the JSON 404, not the app.
    const api = await t.call("GET", "/api/nope");
    expect(api.status).toBe(404);
    expect(ErrorBodySchema.safeParse(api.body).success).toBe(true);
  });

  test("without a build, / explains how to build it and the API keeps working", async () => {
    const t = await startTestHub({ config: { dashboard: { dir: join(tmpdir(), "m3shd-no-such-build") } } });
    const index = await t.call("GET", "/");
    expect(index.status).toBe(200);
    expect(index.text).toContain("pnpm --filter @m3shd/dashboard build");
    expect(index.headers.get("cache-control")).toBe("no-cache");
    expect((await t.call("GET", "/assets/app-ABCD1234.js")).status).toBe(404);
    expect((await t.call("GET", "/api/health")).status).toBe(200);
  });
});

describe("demo mode", () => {
  test("off by default: every demo route is a 404", async () => {
    const t = await startTestHub({ config: { dashboard: { dir: fakeBuild() } } });
    for (const path of ["/demo", "/demo/api/agents", "/demo/api/tasks", "/demo/api/approvals"]) {
      expect((await t.call("GET", path)).status, path).toBe(404);
    }
  });

  test("on: redacted reads without credentials, 30 requests a minute per IP, no write", async () => {
    const t = await startTestHub({ config: { dashboard: { dir: fakeBuild(), demo: true } } });
    const created = await t.call("POST", "/api/tasks", {
      token: MASTER,
      body: { title: "secret plan", prompt: "the launch codes are 1234", required_capability: "echo" },
    });
    expect(created.status, created.text).toBe(201);
    const id = created.body.task.id as string;
    const ip = { incoming: { socket: { remoteAddress: "203.0.113.7" } } };
    expect((await t.call("GET", "/demo", { env: ip })).text).toContain("/assets/app-ABCD1234.js");
    const list = await t.call("GET", "/demo/api/tasks?limit=5", { env: ip });
    expect(list.status).toBe(200);
    const listed = (list.body.tasks as { id: string; prompt: string }[]).find((x) => x.id === id);
    expect(listed?.prompt).toBe("[redacted]");
    expect(list.text).not.toContain("launch codes");
    const one = await t.call("GET", `/demo/api/tasks/${id}`, { env: ip });
    expect(one.body.task.prompt).toBe("[redacted]");
    expect((await t.call("GET", "/demo/api/agents", { env: ip })).status).toBe(200);
    expect((await t.call("GET", "/demo/api/approvals", { env: ip })).status).toBe(200);
    // No write exists under /demo, and the real API wants credentials.
    expect((await t.call("POST", "/demo/api/tasks", { env: ip, body: {} })).status).toBe(404);
    expect((await t.call("PUT", `/demo/api/tasks/${id}`, { env: ip, body: {} })).status).toBe(404);
    expect((await t.call("POST", "/api/tasks", { env: ip, body: { title: "x" } })).status).toBe(401);
    // 5 demo requests so far from this IP; the 31st in the minute is refused, another IP is not.
    const statuses: number[] = [];
    for (let i = 0; i < 26; i++) statuses.push((await t.call("GET", "/demo/api/agents", { env: ip })).status);
    expect(statuses.slice(0, 25).every((s) => s === 200)).toBe(true);
    expect(statuses[25]).toBe(429);
    const other = { incoming: { socket: { remoteAddress: "198.51.100.9" } } };
    expect((await t.call("GET", "/demo/api/agents", { env: other })).status).toBe(200);
    t.clock.now += 61_000;
    expect((await t.call("GET", "/demo/api/agents", { env: ip })).status).toBe(200);
  });
});
