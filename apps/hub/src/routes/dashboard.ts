import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type Agent,
  type Approval,
  DEMO_REDACTED,
  dashboardAssetRoute,
  dashboardIconRoute,
  dashboardManifestRoute,
  dashboardPageRoute,
  dashboardServiceWorkerRoute,
  demoAgentsRoute,
  demoApprovalsRoute,
  demoPageRoute,
  demoTaskRoute,
  demoTasksRoute,
  NotFoundError,
  RateLimitedError,
  type Task,
} from "@m3shd/protocol";
import type { Context, MiddlewareHandler } from "hono";
import { clientIp } from "../middleware/client-ip";
import { listAgents } from "../services/agents";
import { listApprovals } from "../services/approvals";
import { getTask, listTasks } from "../services/tasks";
import type { HubApp, HubEnv, RouteDeps } from "../types";
import { handle } from "./define";

/**
 * The operator dashboard's static files (built by `pnpm --filter @m3shd/dashboard build` into
 * `apps/dashboard/dist`), each registered through its descriptor (`DASHBOARD_ROUTES`, public).
 *
 * Only these exact paths are served — no catch-all — so an unknown `/api/...` path stays a JSON
 * 404 and no file outside the build directory can be named (asset names are matched against a
 * strict pattern before they touch the filesystem). Hashed assets are immutable; the index, the
 * service worker and the manifest are `no-cache` so a new build is picked up on the next load.
 */

/** `name-HASH.ext` as esbuild writes it; anything else is a 404 without reading the disk. */
const ASSET_NAME = /^[A-Za-z0-9_-]{1,64}-[A-Z0-9]{8}\.(js|css|map)$/;

const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  map: "application/json; charset=utf-8",
  html: "text/html; charset=utf-8",
  webmanifest: "application/manifest+json",
  svg: "image/svg+xml",
};

const IMMUTABLE = "public, max-age=31536000, immutable";
const NO_CACHE = "no-cache";

/** Shown at `/` when the dashboard was not built: the hub's API works regardless. */
export const DASHBOARD_MISSING_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>M3SHD hub — dashboard not built</title></head>
<body><main data-testid="dashboard-missing">
<h1>The M3SHD hub is running</h1>
<p>The dashboard's files are not built, so there is nothing to show here yet. The API under <code>/api</code> works.</p>
<p>Build them with <code>pnpm --filter @m3shd/dashboard build</code> (or <code>pnpm build</code> at the repository root),
then reload. The hub looks for them in <code>apps/dashboard/dist</code>, or in <code>M3SHD_DASHBOARD_DIR</code>.</p>
</main></body></html>
`;

async function readBuilt(dir: string | undefined, ...parts: string[]): Promise<Buffer | null> {
  if (!dir) return null;
  try {
    return await readFile(join(dir, ...parts));
  } catch {
    return null;
  }
}

function send(c: Context, body: Buffer, ext: string, cache: string): Response {
  c.header("Content-Type", TYPES[ext] ?? "application/octet-stream");
  c.header("Cache-Control", cache);
  return c.body(new Uint8Array(body), 200);
}

/** Requests a client IP may make to the demo per minute (the page and its API together). */
export const DEMO_REQUESTS_PER_MINUTE = 30;

/**
 * What an anonymous visitor may see of a task: no prompt (submitted, composed or its parts —
 * memory, parent outputs, handoffs), output, error or handed-off text.
 */
export function redactTask(t: Task): Task {
  return {
    ...t,
    prompt: DEMO_REDACTED,
    composed_prompt: DEMO_REDACTED,
    prompt_parts: { memory: null, parents: null, handoffs: [] },
    output: t.output === null ? null : DEMO_REDACTED,
    error: t.error === null ? null : DEMO_REDACTED,
    partial_output: t.partial_output === null ? null : DEMO_REDACTED,
  };
}

/** Agents without their free-form metadata (which may name hosts, paths or keys). */
export function redactAgent(a: Agent): Agent {
  return { ...a, meta: {} };
}

function redactApproval(a: Approval): Approval {
  return {
    ...a,
    description: DEMO_REDACTED,
    decision_reason: a.decision_reason === null ? null : DEMO_REDACTED,
  };
}

/**
 * Fixed one-minute windows per client IP, in this process (the demo is a showcase, not an API:
 * a per-process count is enough). Stale windows are swept as they are met.
 */
function demoLimiter(now: () => number, trustProxy: boolean): MiddlewareHandler<HubEnv> {
  const windows = new Map<string, { start: number; count: number }>();
  return async (c, next) => {
    const ip = clientIp(c, trustProxy) ?? "unknown";
    const t = now();
    if (windows.size > 10_000) {
      for (const [k, w] of windows) if (t - w.start >= 60_000) windows.delete(k);
    }
    let w = windows.get(ip);
    if (!w || t - w.start >= 60_000) {
      w = { start: t, count: 0 };
      windows.set(ip, w);
    }
    w.count++;
    if (w.count > DEMO_REQUESTS_PER_MINUTE) {
      throw new RateLimitedError(
        Math.max(1, Math.ceil((w.start + 60_000 - t) / 1000)),
        "Demo rate limit: 30 requests a minute",
      );
    }
    await next();
  };
}

export function registerDashboardRoutes(app: HubApp, { ctx, authenticate }: RouteDeps) {
  const dir = ctx.config.dashboard?.dir;
  const demo = ctx.config.dashboard?.demo === true;
  const limit = demoLimiter(ctx.now, ctx.config.trustProxy ?? false);
  /** Every demo route answers 404 unless the hub was started with M3SHD_DEMO=1. */
  const demoOnly: MiddlewareHandler<HubEnv> = async (c, next) => {
    if (!demo) throw new NotFoundError("route", `${c.req.method} ${c.req.path}`);
    await next();
  };

  const index = async (c: Context): Promise<Response> => {
    const html = await readBuilt(dir, "index.html");
    c.header("Cache-Control", NO_CACHE);
    if (!html) return c.html(DASHBOARD_MISSING_PAGE, 200);
    return send(c, html, "html", NO_CACHE);
  };

  handle(app, dashboardPageRoute, authenticate, (c) => index(c));

  handle(app, dashboardAssetRoute, authenticate, async (c, { params }) => {
    const file = params.file;
    const match = ASSET_NAME.exec(file);
    const body = match ? await readBuilt(dir, "assets", file) : null;
    if (!match || !body) throw new NotFoundError("asset", file);
    return send(c, body, match[1] ?? "", IMMUTABLE);
  });

  // The demo page is the same app: it sees `/demo` in its location and reads only `/demo/api`.
  handle(app, demoPageRoute, authenticate, (c) => index(c), [demoOnly, limit]);

  handle(
    app,
    demoAgentsRoute,
    authenticate,
    async () => ({
      status: 200,
      body: { agents: (await listAgents(ctx)).map(redactAgent) },
    }),
    [demoOnly, limit],
  );
  handle(
    app,
    demoTasksRoute,
    authenticate,
    (_c, { query }) => {
      const page = listTasks(ctx, query);
      return { status: 200, body: { tasks: page.tasks.map(redactTask), next_cursor: page.next_cursor } };
    },
    [demoOnly, limit],
  );
  handle(
    app,
    demoTaskRoute,
    authenticate,
    (_c, { params }) => ({
      status: 200,
      body: { task: redactTask(getTask(ctx, params.id)) },
    }),
    [demoOnly, limit],
  );
  handle(
    app,
    demoApprovalsRoute,
    authenticate,
    () => {
      const page = listApprovals(ctx, { status: "pending", limit: 50 });
      return {
        status: 200,
        body: { approvals: page.approvals.map(redactApproval), next_cursor: page.next_cursor },
      };
    },
    [demoOnly, limit],
  );

  for (const [route, ext] of [
    [dashboardServiceWorkerRoute, "js"],
    [dashboardManifestRoute, "webmanifest"],
    [dashboardIconRoute, "svg"],
  ] as const) {
    handle(app, route, authenticate, async (c) => {
      const body = await readBuilt(dir, route.path.slice(1));
      if (!body) throw new NotFoundError("file", route.path);
      return send(c, body, ext, NO_CACHE);
    });
  }
}
