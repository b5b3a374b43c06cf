import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { docsAssetRoute, docsPageRoute, NotFoundError, openApiRoute } from "@m3shd/protocol";
import { buildOpenApiDocument } from "../openapi";
import type { HubApp, RouteDeps } from "../types";
import { handle } from "./define";

/**
 * `GET /api/openapi.json` (the generated document) and `GET /docs` (Swagger UI), both public. The
 * docs page is served entirely by the hub — its scripts and stylesheet come from the
 * `swagger-ui-dist` package on disk, never a CDN — so it works offline and under a `'self'` CSP.
 */

/** Path prefix of the docs page and its assets (they get `DOCS_CSP` instead of the API's CSP). */
export const DOCS_PATH = "/docs";

/**
 * The docs page's CSP: the API's (`'self'` only, no framing, no plugins) plus the two things
 * Swagger UI needs — the `data:` SVG icons in its stylesheet and the inline styles it sets.
 * Scripts stay `'self'`: the page's initializer is a file too, not an inline script.
 */
export const DOCS_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; object-src 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>M3SHD hub API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  withCredentials: true,
});
`;

/** The only files served under `/docs/assets/`: a fixed list, so no path ever reaches the disk. */
const ASSETS: Record<string, { type: string; source: string }> = {
  "swagger-ui.css": { type: "text/css", source: "swagger-ui.css" },
  "swagger-ui-bundle.js": { type: "text/javascript", source: "swagger-ui-bundle.js" },
  "favicon-32x32.png": { type: "image/png", source: "favicon-32x32.png" },
};

function swaggerDir(): string {
  return dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
}

export function registerDocsRoutes(app: HubApp, { authenticate }: RouteDeps) {
  // Built once, on first request: the descriptors do not change while the hub runs.
  let document: Record<string, unknown> | null = null;
  const cache = new Map<string, Buffer>();

  handle(app, openApiRoute, authenticate, () => {
    document ??= buildOpenApiDocument();
    return { status: 200, body: document as never };
  });

  handle(app, docsPageRoute, authenticate, (c) => c.html(PAGE));

  handle(app, docsAssetRoute, authenticate, (c, { params }) => {
    const cacheHeaders = { "content-type": "", "cache-control": "public, max-age=3600" };
    if (params.file === "init.js") {
      return c.body(INIT, 200, { ...cacheHeaders, "content-type": "text/javascript; charset=utf-8" });
    }
    const asset = ASSETS[params.file];
    if (!asset) throw new NotFoundError("docs asset", params.file);
    let bytes = cache.get(params.file);
    if (!bytes) {
      bytes = readFileSync(join(swaggerDir(), asset.source));
      cache.set(params.file, bytes);
    }
    const type = asset.type.startsWith("text/") ? `${asset.type}; charset=utf-8` : asset.type;
    return c.body(new Uint8Array(bytes), 200, { ...cacheHeaders, "content-type": type });
  });
}
