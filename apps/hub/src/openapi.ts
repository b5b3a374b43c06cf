import * as protocol from "@m3shd/protocol";
import {
  AgentSchema,
  AgentTokenSchema,
  ApiKeySchema,
  ApprovalSchema,
  ContextEntrySchema,
  ERROR_CODES,
  ErrorBodySchema,
  EscalationSchema,
  HUB_ROUTES,
  httpStatusForErrorCode,
  MemoryEntrySchema,
  MeshEventSchema,
  MessageSchema,
  openApiPath,
  type ResponseSpec,
  type RouteDef,
  routeErrorStatuses,
  StreamChunkSchema,
  TaskSchema,
  TemplateSchema,
  UserSchema,
} from "@m3shd/protocol";
import { z } from "zod";
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiPathsObject } from "zod-openapi";
import { FIELD_DESCRIPTIONS } from "./openapi-descriptions.generated";

/**
 * The OpenAPI 3.1 document of the hub, generated from the route descriptors in `@m3shd/protocol`
 * with zod-openapi (zod 4's own JSON Schema underneath). It lives in the hub, not in protocol, so
 * the published protocol package does not depend on the generator. `docs/openapi.json` is this
 * document (`pnpm openapi` rewrites it; a test fails when it drifts); the hub serves it at
 * `GET /api/openapi.json`.
 */

/** The API's contract version (the document's `info.version`). */
export const API_VERSION = "0.1.0";

/** Vendor extension carrying each operation's permission. */
export const PERMISSION_EXTENSION = "x-permission";

/** Objects named once under `components.schemas` and referenced wherever they appear. */
const COMPONENTS: Record<string, z.ZodType> = {
  ErrorBody: ErrorBodySchema,
  Task: TaskSchema,
  StreamChunk: StreamChunkSchema,
  Agent: AgentSchema,
  MeshEvent: MeshEventSchema,
  Template: TemplateSchema,
  Message: MessageSchema,
  ContextEntry: ContextEntrySchema,
  Approval: ApprovalSchema,
  Escalation: EscalationSchema,
  MemoryEntry: MemoryEntrySchema,
  AgentToken: AgentTokenSchema,
  ApiKey: ApiKeySchema,
  User: UserSchema,
};

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No content",
  400: "Malformed request (unparsable JSON)",
  401: "Missing, invalid or revoked credentials",
  403: "Authenticated but not allowed: missing permission, another agent's resource, or CSRF",
  404: "Not found",
  409: "Conflict with the current state (illegal transition, stale attempt, cycle…)",
  410: "Gone",
  413: "Payload too large",
  415: "Body is not application/json",
  422: "Failed validation (`details` lists every issue)",
  429: "Rate limited (see `Retry-After`)",
  502: "Bad gateway",
  503: "A dependency is unavailable",
};

const ERROR_ENVELOPE_TEXT =
  "Every error answers with one envelope, `{ error: { code, message, details?, request_id } }`. " +
  `\`code\` maps to the status: ${ERROR_CODES.map((c) => `\`${c}\` → ${httpStatusForErrorCode(c)}`).join(", ")}.`;

/** Field descriptions by the object schema that holds the field (and the field's key). */
type DescriptionIndex = WeakMap<z.ZodType, Record<string, string>>;

/** Through optional/nullable/default/pipe wrappers to the schema that has a shape, if any. */
function objectOf(schema: unknown): z.ZodObject | null {
  let current = schema as z.ZodType | undefined;
  for (let i = 0; i < 8 && current; i++) {
    if (current instanceof z.ZodObject) return current;
    const def = (current as { def?: { innerType?: z.ZodType; in?: z.ZodType } }).def;
    current = def?.innerType ?? def?.in;
  }
  return null;
}

/**
 * Indexes the protocol's JSDoc field descriptions (`FIELD_DESCRIPTIONS`, extracted from its source
 * by `pnpm openapi`) by the exported object schema they belong to, walking nested object fields.
 */
function indexDescriptions(descriptions: Record<string, Record<string, string>>): DescriptionIndex {
  const index: DescriptionIndex = new WeakMap();
  const exported = protocol as unknown as Record<string, unknown>;
  for (const [name, fields] of Object.entries(descriptions)) {
    const root = objectOf(exported[name]);
    if (!root) continue;
    for (const [path, text] of Object.entries(fields)) {
      const keys = path.split(".");
      let holder: z.ZodObject | null = root;
      for (const key of keys.slice(0, -1)) holder = holder ? objectOf(holder.shape[key]) : null;
      const key = keys[keys.length - 1] as string;
      if (!holder || !(key in holder.shape)) continue;
      const entry = index.get(holder) ?? {};
      entry[key] = text;
      index.set(holder, entry);
    }
  }
  return index;
}

/** A params/query object whose fields carry their descriptions (OpenAPI parameters read them there). */
function describedParams(schema: z.ZodType, index: DescriptionIndex): z.ZodType {
  const object = objectOf(schema);
  const fields = object ? index.get(object) : undefined;
  if (!object || !fields) return schema;
  const shape: Record<string, z.ZodType> = {};
  for (const [key, child] of Object.entries(object.shape as Record<string, z.ZodType>)) {
    const text = fields[key];
    shape[key] = text && child.description === undefined ? child.describe(text) : child;
  }
  return z.object(shape);
}

function successResponse(status: number, spec: ResponseSpec) {
  const description = STATUS_TEXT[status] ?? String(status);
  if (spec === null) return { description };
  if ("kind" in spec && spec.kind === "sse") {
    return {
      description: `${description}: a \`text/event-stream\`; each frame's \`data:\` line is one JSON event of this schema.`,
      content: { "text/event-stream": { schema: spec.event } },
    };
  }
  if ("kind" in spec && spec.kind === "raw") {
    return {
      description,
      content: Object.fromEntries(
        spec.contentTypes.map((type) => [
          type,
          { schema: type.startsWith("image/") ? { type: "string", format: "binary" } : { type: "string" } },
        ]),
      ),
    };
  }
  return { description, content: { "application/json": { schema: spec as z.ZodType } } };
}

function operation(route: RouteDef, index: DescriptionIndex): ZodOpenApiOperationObject {
  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(route.responses)) {
    responses[status] = successResponse(Number(status), spec);
  }
  for (const status of routeErrorStatuses(route)) {
    if (responses[status] !== undefined) continue;
    responses[status] = {
      description: STATUS_TEXT[status] ?? String(status),
      content: { "application/json": { schema: ErrorBodySchema } },
    };
  }
  const permissionText =
    route.permission === "public"
      ? "Permission: none (public)."
      : route.permission === "service"
        ? "Permission: the service token only."
        : `Permission: \`${route.permission}\`.`;
  const limitText = route.bodyLimitBytes ? ` Body limit: ${route.bodyLimitBytes} bytes.` : "";
  const op: Record<string, unknown> = {
    operationId: route.id,
    summary: route.summary,
    description: [route.description, `${permissionText}${limitText}`].filter(Boolean).join("\n\n"),
    tags: [...route.tags],
    [PERMISSION_EXTENSION]: route.permission,
    security: route.permission === "public" ? [] : [{ bearer: [] }, { cookie: [] }],
    responses,
  };
  if (route.bodyLimitBytes) op["x-body-limit-bytes"] = route.bodyLimitBytes;
  if (route.params || route.query) {
    op.requestParams = {
      ...(route.params ? { path: describedParams(route.params, index) } : {}),
      ...(route.query ? { query: describedParams(route.query, index) } : {}),
    };
  }
  if (route.body) {
    op.requestBody = { required: true, content: { "application/json": { schema: route.body } } };
  }
  return op as unknown as ZodOpenApiOperationObject;
}

export interface OpenApiOptions {
  routes?: readonly RouteDef[];
  version?: string;
  /** Field descriptions by schema name (default: the generated `FIELD_DESCRIPTIONS`). */
  descriptions?: Record<string, Record<string, string>>;
}

/** The hub's OpenAPI 3.1 document, one operation per descriptor, in `HUB_ROUTES` order. */
export function buildOpenApiDocument(options: OpenApiOptions = {}): Record<string, unknown> {
  const routes = options.routes ?? HUB_ROUTES;
  const index = indexDescriptions(options.descriptions ?? FIELD_DESCRIPTIONS);
  const paths: Record<string, Record<string, ZodOpenApiOperationObject>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    paths[path] ??= {};
    (paths[path] as Record<string, ZodOpenApiOperationObject>)[route.method.toLowerCase()] = operation(
      route,
      index,
    );
  }
  const tags = [...new Set(routes.flatMap((r) => r.tags))].map((name) => ({ name }));
  const document = createDocument(
    {
      openapi: "3.1.0",
      info: {
        title: "M3SHD hub API",
        version: options.version ?? API_VERSION,
        description:
          "The hub is the only surface people and workers talk to. Every route is declared once in " +
          "`@m3shd/protocol` (its schemas, statuses and permission); this document is generated from those " +
          `declarations. Each operation's permission is in \`${PERMISSION_EXTENSION}\`.\n\n${ERROR_ENVELOPE_TEXT}`,
      },
      tags,
      paths: paths as ZodOpenApiPathsObject,
      components: {
        schemas: COMPONENTS,
        securitySchemes: {
          bearer: {
            type: "http",
            scheme: "bearer",
            description:
              "`Authorization: Bearer <token>`: the master token, an agent token (`m3shd_ag_…`) or an API key (`m3shd_key_…`).",
          },
          cookie: {
            type: "apiKey",
            in: "cookie",
            name: "m3shd_session",
            description:
              "A dashboard session from `POST /api/auth/login`. Writes also need `X-CSRF-Token` (the login's `csrf_token`).",
          },
        },
      },
    },
    {
      reused: "inline",
      // Each object's fields get the description its JSDoc gives them, unless the schema has one.
      override: ({ zodSchema, jsonSchema }) => {
        const fields = index.get(zodSchema as unknown as z.ZodType);
        const properties = (jsonSchema as { properties?: Record<string, Record<string, unknown>> })
          .properties;
        if (!fields || !properties) return;
        for (const [key, text] of Object.entries(fields)) {
          const property = properties[key];
          // A copy: the generator shares one JSON object between uses of the same zod schema.
          if (property && property.description === undefined)
            properties[key] = { ...property, description: text };
        }
      },
    },
  );
  return JSON.parse(JSON.stringify(document)) as Record<string, unknown>;
}

/** The committed form of the document: two-space JSON with a final newline. */
export function serializeOpenApiDocument(document: Record<string, unknown>): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}
