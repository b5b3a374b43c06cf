import { z } from "zod";
import { defineRoute, rawResponse } from "../route";

/**
 * The operator dashboard's static files (built by `@m3shd/dashboard` into `apps/dashboard/dist`).
 * Public: they are the app, not data. Hashed assets are served immutable, the rest `no-cache`;
 * without a build `/` is a page saying how to build it and the files are 404s.
 */

/** `/assets/:file`: an esbuild output name, `name-HASH.ext` (the hub checks the exact shape). */
export const DashboardAssetPathSchema = z.object({
  file: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, "Expected a file name"),
});

export const dashboardPageRoute = defineRoute({
  id: "dashboard.page",
  method: "GET",
  path: "/",
  permission: "public",
  summary: "The operator dashboard (or how to build it)",
  tags: ["dashboard"],
  responses: { 200: rawResponse("text/html") },
});

export const dashboardAssetRoute = defineRoute({
  id: "dashboard.asset",
  method: "GET",
  path: "/assets/:file",
  permission: "public",
  summary: "A content-hashed script or stylesheet of the dashboard (immutable)",
  tags: ["dashboard"],
  params: DashboardAssetPathSchema,
  responses: { 200: rawResponse("text/javascript", "text/css") },
  errors: [404, 422],
});

export const dashboardServiceWorkerRoute = defineRoute({
  id: "dashboard.serviceWorker",
  method: "GET",
  path: "/sw.js",
  permission: "public",
  summary: "The dashboard's service worker (caches the shell, never API answers)",
  tags: ["dashboard"],
  responses: { 200: rawResponse("text/javascript") },
  errors: [404],
});

export const dashboardManifestRoute = defineRoute({
  id: "dashboard.manifest",
  method: "GET",
  path: "/manifest.webmanifest",
  permission: "public",
  summary: "The dashboard's web app manifest",
  tags: ["dashboard"],
  responses: { 200: rawResponse("application/manifest+json") },
  errors: [404],
});

export const dashboardIconRoute = defineRoute({
  id: "dashboard.icon",
  method: "GET",
  path: "/icon.svg",
  permission: "public",
  summary: "The dashboard's icon",
  tags: ["dashboard"],
  responses: { 200: rawResponse("image/svg+xml") },
  errors: [404],
});

export const DASHBOARD_ROUTES = [
  dashboardPageRoute,
  dashboardAssetRoute,
  dashboardServiceWorkerRoute,
  dashboardManifestRoute,
  dashboardIconRoute,
] as const;
