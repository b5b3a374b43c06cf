import { z } from "zod";
import { defineRoute, rawResponse } from "../route";

/** The OpenAPI 3.1 document, checked only at its top (its full shape is the OpenAPI schema's). */
export const OpenApiDocumentSchema = z
  .looseObject({
    openapi: z.string().startsWith("3.1"),
    info: z.looseObject({ title: z.string(), version: z.string() }),
    paths: z.record(z.string(), z.unknown()),
  })
  .describe("An OpenAPI 3.1 document");

/** `/docs/assets/:file`: the docs page's own scripts and stylesheets. */
export const DocsAssetPathSchema = z.object({
  file: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, "Expected a file name"),
});

export const openApiRoute = defineRoute({
  id: "docs.openapi",
  method: "GET",
  path: "/api/openapi.json",
  permission: "public",
  summary: "This API's OpenAPI 3.1 document",
  description: "Generated from the route descriptors in `@m3shd/protocol`; the same as `docs/openapi.json`.",
  tags: ["docs"],
  responses: { 200: OpenApiDocumentSchema },
});

export const docsPageRoute = defineRoute({
  id: "docs.page",
  method: "GET",
  path: "/docs",
  permission: "public",
  summary: "Interactive API docs (Swagger UI, served by the hub)",
  tags: ["docs"],
  responses: { 200: rawResponse("text/html") },
});

export const docsAssetRoute = defineRoute({
  id: "docs.asset",
  method: "GET",
  path: "/docs/assets/:file",
  permission: "public",
  summary: "A script, stylesheet or image of the docs page",
  tags: ["docs"],
  params: DocsAssetPathSchema,
  responses: { 200: rawResponse("text/javascript", "text/css", "image/png") },
  errors: [404],
});

export const DOCS_ROUTES = [openApiRoute, docsPageRoute, docsAssetRoute] as const;
