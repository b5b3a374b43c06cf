// Builds the dashboard into dist/: content-hashed ES modules and CSS under assets/, an index.html
// that names them, the web manifest, the icon and a service worker that precaches exactly the
// shell (the entry and its static imports). The analytics chart and the 3D mesh view are split
// into chunks loaded on demand, so they never weigh on the first page.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = dirname(fileURLToPath(import.meta.url));

/**
 * The workspace's sources write `import { z } from "zod"`. esbuild cannot tree-shake a namespace
 * that reaches it as a named export, so that form bundles the whole of zod, every locale
 * included (~90 KB gzipped); `import * as z from "zod"` is the same binding and shakes down to
 * the schemas really used (~25 KB). This rewrites the import in our own TypeScript only.
 */
const zodNamespace = {
  name: "zod-namespace",
  setup(b) {
    b.onLoad({ filter: /\.tsx?$/ }, (args) => {
      if (args.path.includes("node_modules")) return undefined;
      const source = readFileSync(args.path, "utf8");
      const contents = source.replace(/^import \{ z \} from "zod";$/gm, 'import * as z from "zod";');
      return { contents, loader: args.path.endsWith("x") ? "tsx" : "ts" };
    });
  },
};
/**
 * The 3D graph's libraries (3d-force-graph, three-render-objects, float-tooltip) inject their CSS
 * with a `<style>` element when they load (rollup-plugin-styles' `styleInject`). The page's CSP
 * (`default-src 'self'`) blocks that and reports a violation, and the tooltip and navigation hint
 * lose their styles. This rewrites `styleInject` to adopt a constructed stylesheet instead (CSSOM,
 * which CSP allows); `test/bundle.test.ts` checks that no `<style>` element is created anywhere.
 */
const adoptInjectedStyles = {
  name: "adopt-injected-styles",
  setup(b) {
    const header = /function styleInject\(css, ref\) \{/;
    b.onLoad({ filter: /node_modules[\\/].*\.m?js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      if (!source.includes("function styleInject(")) return undefined;
      if (!header.test(source)) throw new Error(`${args.path}: styleInject has an unknown shape`);
      const contents = `${source.replace(
        header,
        "function styleInject(css) { adoptStyleSheet(css); }\nfunction styleInjectUnused(css, ref) {",
      )}
function adoptStyleSheet(css) {
  if (typeof document === "undefined" || typeof CSSStyleSheet === "undefined") return;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}
`;
      return { contents, loader: "js" };
    });
  },
};
const out = join(root, "dist");

/** Builds dist/ and returns the build manifest (shell and lazy files, relative to dist/). */
export async function buildDashboard({ minify = true } = {}) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, "assets"), { recursive: true });
  const result = await build({
    entryPoints: { app: join(root, "src/main.tsx") },
    outdir: join(out, "assets"),
    bundle: true,
    splitting: true,
    format: "esm",
    target: ["es2022"],
    platform: "browser",
    minify,
    sourcemap: false,
    metafile: true,
    entryNames: "[name]-[hash]",
    chunkNames: "[name]-[hash]",
    assetNames: "[name]-[hash]",
    jsx: "automatic",
    jsxImportSource: "preact",
    // @m3shd/client and @m3shd/protocol are bundled from source; nothing of Node may reach the bundle.
    conditions: ["@m3shd/source", "browser", "import", "default"],
    define: { "process.env.NODE_ENV": '"production"' },
    legalComments: "none",
    logLevel: "warning",
    plugins: [zodNamespace, adoptInjectedStyles],
    // The page's CSP is `default-src 'self'`: zod must never probe `new Function` (Chromium
    // reports a CSP violation even though zod catches the throw). zod decides when it builds a
    // schema, while @m3shd/protocol loads, so its global config is set at the top of every chunk,
    // before any of them runs; the interpreted parser is fast enough for the dashboard.
    banner: { js: "(globalThis.__zod_globalConfig??={}).jitless=true;" },
  });
  const outputs = result.metafile.outputs;
  const rel = (p) => relative(out, join(root, p)).split("\\").join("/");
  const entry = Object.entries(outputs).find(([, o]) => o.entryPoint?.endsWith("src/main.tsx"));
  if (!entry) throw new Error("no entry output");
  const [entryPath, entryMeta] = entry;
  // The shell: the entry, its CSS and every chunk reachable through static imports.
  const shell = new Set([rel(entryPath)]);
  if (entryMeta.cssBundle) shell.add(rel(entryMeta.cssBundle));
  const queue = [entryPath];
  while (queue.length) {
    const next = queue.pop();
    for (const imp of outputs[next]?.imports ?? []) {
      if (imp.kind !== "import-statement" || imp.external) continue;
      const r = rel(imp.path);
      if (!shell.has(r)) {
        shell.add(r);
        queue.push(imp.path);
      }
    }
  }
  const all = Object.keys(outputs).map(rel);
  const lazy = all.filter((f) => !shell.has(f) && !f.endsWith(".map"));
  const script = [...shell].find((f) => f.endsWith(".js"));
  const css = [...shell].find((f) => f.endsWith(".css"));

  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#0d1117">
<meta name="color-scheme" content="dark">
<title>M3SHD</title>
<link rel="manifest" href="/manifest.webmanifest">
<link rel="icon" href="/icon.svg" type="image/svg+xml">
${css ? `<link rel="stylesheet" href="/${css}">` : ""}
${[...shell]
  .filter((f) => f.endsWith(".js") && f !== script)
  .map((f) => `<link rel="modulepreload" href="/${f}">`)
  .join("\n")}
<script type="module" src="/${script}"></script>
</head>
<body>
<div id="app"><noscript>The M3SHD dashboard needs JavaScript.</noscript></div>
</body>
</html>
`;
  writeFileSync(join(out, "index.html"), html);
  copyFileSync(join(root, "src/icon.svg"), join(out, "icon.svg"));
  writeFileSync(
    join(out, "manifest.webmanifest"),
    `${JSON.stringify(
      {
        name: "M3SHD operator dashboard",
        short_name: "M3SHD",
        start_url: "/",
        scope: "/",
        display: "standalone",
        background_color: "#0d1117",
        theme_color: "#0d1117",
        icons: [{ src: "/icon.svg", sizes: "any", type: "image/svg+xml", purpose: "any maskable" }],
      },
      null,
      2,
    )}\n`,
  );
  // The service worker precaches the shell only; its cache name changes with the shell's content.
  const shellUrls = ["/", ...[...shell].map((f) => `/${f}`), "/manifest.webmanifest", "/icon.svg"];
  const version = createHash("sha256").update(shellUrls.join("\n")).update(html).digest("hex").slice(0, 12);
  const sw = `// Generated by build.mjs. Caches the dashboard's shell, never an API response.
const CACHE = "m3shd-shell-${version}";
const SHELL = ${JSON.stringify(shellUrls)};
self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (e) => {
  e.waitUntil(
    caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      // Navigation preload: the page request starts while this worker boots, not after.
      .then(() => self.registration.navigationPreload && self.registration.navigationPreload.enable())
      .then(() => self.clients.claim()),
  );
});
self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  // Only GETs of this origin's shell files: API calls, streams and writes always go to the network.
  if (e.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/demo")) return;
  if (e.request.mode === "navigate" || url.pathname === "/") {
    // Network first, so a new build is seen at once; the cached shell when offline.
    e.respondWith(
      Promise.resolve(e.preloadResponse)
        .then((preloaded) => preloaded || fetch(e.request))
        .catch(() => caches.match("/")),
    );
    return;
  }
  if (SHELL.includes(url.pathname)) {
    e.respondWith(caches.match(url.pathname).then((hit) => hit || fetch(e.request)));
  }
});
`;
  writeFileSync(join(out, "sw.js"), sw);
  const manifest = { shell: [...shell], lazy, version };
  writeFileSync(join(out, "build-manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const m = await buildDashboard();
  process.stdout.write(`dashboard: shell ${m.shell.join(", ")}; lazy ${m.lazy.length} chunk(s)\n`);
}
