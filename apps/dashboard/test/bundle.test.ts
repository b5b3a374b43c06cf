import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { DIST } from "./harness";

/** The build the global setup just made: budget, hashing, CSP-safe HTML, and a shell-only service worker. */
const manifest = JSON.parse(readFileSync(join(DIST, "build-manifest.json"), "utf8")) as {
  shell: string[];
  lazy: string[];
};
const gz = (file: string) => gzipSync(readFileSync(join(DIST, file)), { level: 9 }).length;

describe("dashboard build", () => {
  test("the shell (entry, its CSS and static imports) is under 100 KB gzipped", () => {
    const total = manifest.shell.reduce((n, f) => n + gz(f), 0);
    expect(manifest.shell.some((f) => f.endsWith(".js"))).toBe(true);
    expect(manifest.shell.some((f) => f.endsWith(".css"))).toBe(true);
    expect(total).toBeGreaterThan(5 * 1024); // it really measured the app, not an empty file
    expect(total).toBeLessThan(100 * 1024);
  });

  test("the 3D graph and the chart library are lazy chunks, never in the shell", () => {
    expect(manifest.lazy.some((f) => f.includes("3d-force-graph"))).toBe(true);
    expect(manifest.lazy.some((f) => f.includes("analytics"))).toBe(true);
    expect(manifest.lazy.some((f) => f.includes("mesh"))).toBe(true);
    const shellText = manifest.shell.map((f) => readFileSync(join(DIST, f), "utf8")).join("\n");
    expect(shellText).not.toContain("WebGLRenderer");
    expect(shellText).not.toContain("uPlot");
    // The 3D chunk is big: it must stay out of the first page.
    const big = manifest.lazy.find((f) => f.includes("3d-force-graph"));
    expect(big && gz(big)).toBeGreaterThan(100 * 1024);
  });

  test("every asset name carries a content hash; index.html loads only shell files, no inline script or style", () => {
    for (const f of [...manifest.shell, ...manifest.lazy])
      expect(f).toMatch(/^assets\/[A-Za-z0-9_-]+-[A-Z0-9]{8}\.(js|css)$/);
    const html = readFileSync(join(DIST, "index.html"), "utf8");
    const refs = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThanOrEqual(2);
    for (const r of refs) expect(manifest.shell).toContain(r);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style="/);
    expect(html).toContain('rel="manifest"');
  });

  test("no chunk creates a <style> element (the CSP blocks it; build.mjs adopts those sheets instead)", () => {
    for (const f of [...manifest.shell, ...manifest.lazy].filter((x) => x.endsWith(".js"))) {
      const text = readFileSync(join(DIST, f), "utf8");
      expect(text, f).not.toMatch(/createElement\(\s*["'`]style["'`]\s*\)/);
    }
    const graph = manifest.lazy.find((f) => f.includes("3d-force-graph"));
    expect(graph && readFileSync(join(DIST, graph), "utf8")).toContain("adoptedStyleSheets");
  });

  test("the service worker precaches the shell only and never answers for the API", () => {
    const sw = readFileSync(join(DIST, "sw.js"), "utf8");
    const listed = JSON.parse(/const SHELL = (\[.*\]);/.exec(sw)?.[1] ?? "[]") as string[];
    expect(listed).toEqual([
      "/",
      ...manifest.shell.map((f) => `/${f}`),
      "/manifest.webmanifest",
      "/icon.svg",
    ]);
    expect(listed.some((u) => u.startsWith("/api"))).toBe(false);
    expect(sw).toContain('url.pathname.startsWith("/api/")');
    const webmanifest = JSON.parse(readFileSync(join(DIST, "manifest.webmanifest"), "utf8"));
    expect(webmanifest).toMatchObject({ start_url: "/", display: "standalone" });
  });
});
