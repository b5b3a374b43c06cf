import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { HubConfig } from "@m3shd/hub";
import { type Mesh, startMesh } from "@m3shd/mesh";
import { pino } from "pino";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

export const MASTER = "dashboard-test-master-token-0123456789abcdef";
export const DIST = fileURLToPath(new URL("../dist", import.meta.url));
export const ARTIFACTS = fileURLToPath(new URL("./artifacts", import.meta.url));
const WORKER_ENTRY = fileURLToPath(new URL("../../worker/src/index.ts", import.meta.url));
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** Debian's Chromium (`apt-get install chromium`); Playwright's own browser download is not available here. */
export const CHROMIUM = process.env.M3SHD_TEST_CHROMIUM ?? "/usr/bin/chromium";

export const USERS = {
  admin: { username: "ops-admin", password: "ops-admin-password-1", role: "admin" },
  user: { username: "ops-user", password: "ops-user-password-1", role: "user" },
  viewer: { username: "ops-viewer", password: "ops-viewer-password-1", role: "viewer" },
} as const;

/** An agent the test drives by hand over the worker API (register, claim, stream, finish). */
export interface ManualAgent {
  id: string;
  /** Long-polls until the agent claims `taskId` (anything else fails); returns the attempt. */
  claim(taskId: string): Promise<number>;
  stream(taskId: string, attempt: number, seq: number, content: string): Promise<void>;
  finish(taskId: string, attempt: number, result: { output: string } | { error: string }): Promise<void>;
}

export interface DashboardMesh {
  mesh: Mesh;
  url: string;
  /** The `jobs` worker process (null with `worker: false`). */
  worker: ChildProcess | null;
  /** Registers an agent driven by the test, kept online by heartbeats until `close()`. */
  agent(id: string, capabilities: string[], slots?: number): Promise<ManualAgent>;
  /** HTTP call with the master token (or none). */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Record<string, unknown> & { [k: string]: unknown } }>;
  close(): Promise<void>;
}

/**
 * A real mesh (hub + dispatcher, SQLite in a temp dir) serving the built dashboard, with a real
 * `jobs` worker child process (deterministic jobs: text_stats, echo…) and three dashboard users.
 */
export async function startDashboardMesh(
  options: { hub?: Partial<Omit<HubConfig, "masterToken" | "provenanceKey">>; worker?: boolean } = {},
): Promise<DashboardMesh> {
  if (!existsSync(join(DIST, "index.html"))) throw new Error("dashboard not built (globalSetup builds it)");
  const dataDir = mkdtempSync(join(tmpdir(), "m3shd-dash-"));
  const mesh = await startMesh({
    dataDir,
    port: 0,
    masterToken: MASTER,
    logger: pino({ level: process.env.M3SHD_TEST_LOG ?? "silent" }),
    memory: { enabled: false },
    hub: { ...options.hub, dashboard: { dir: DIST, ...options.hub?.dashboard } },
    dispatcher: {
      offlineAfterMs: 5000,
      sweepEveryMs: { heartbeats: 250, zombies: 500, deadlines: 500, reconcile: 500 },
    },
  });
  const call: DashboardMesh["call"] = async (method, path, body, headers = {}) => {
    const res = await fetch(mesh.url + path, {
      method,
      headers: {
        authorization: `Bearer ${MASTER}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  };
  for (const u of Object.values(USERS)) {
    const res = await call("POST", "/api/users", u);
    if (res.status !== 201) throw new Error(`user setup: ${res.status} ${JSON.stringify(res.body)}`);
  }
  const spool = join(dataDir, "spool");
  mkdirSync(spool, { recursive: true });
  // Without a worker (files that drive agents by hand) no child process is started at all.
  const worker: ChildProcess | null =
    options.worker === false
      ? null
      : spawn(
          process.execPath,
          [
            "--import",
            TSX_LOADER,
            "--conditions=@m3shd/source",
            WORKER_ENTRY,
            "--hub",
            mesh.url,
            "--id",
            "local-jobs",
            "--provider",
            "jobs",
            "--slots",
            "4",
            "--heartbeat",
            "300ms",
            "--poll-wait",
            "5s",
            "--spool-dir",
            spool,
          ],
          {
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", M3SHD_TOKEN: MASTER, M3SHD_LOG_LEVEL: "warn" },
            stdio: ["ignore", "ignore", "pipe"],
          },
        );
  let stderr = "";
  worker?.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  if (worker) {
    await until(
      async () => {
        if (worker.exitCode !== null) throw new Error(`worker exited: ${stderr}`);
        const res = await call("GET", "/api/agents/local-jobs");
        return res.status === 200 && (res.body.agent as { status?: string }).status === "online";
      },
      120_000,
      "the jobs worker to come online",
    );
  }
  const stops: (() => void)[] = [];
  return {
    mesh,
    url: mesh.url,
    worker,
    call,
    async agent(id, capabilities, slots = 2) {
      const reg = await call("POST", `/api/agents/${id}/register`, { capabilities, max_concurrent: slots });
      if (reg.status !== 200) throw new Error(`register ${id}: ${reg.status} ${JSON.stringify(reg.body)}`);
      // Heartbeats keep the hand-driven agent online (the dispatcher's offline cut-off is 5 s).
      const timer = setInterval(() => {
        call("POST", `/api/agents/${id}/heartbeat`, { active_tasks: 0 }).catch(() => undefined);
      }, 1000);
      stops.push(() => clearInterval(timer));
      const h = { "x-m3shd-agent": id };
      return {
        id,
        async claim(taskId) {
          return until(
            async () => {
              const r = await call("GET", `/api/agents/${id}/tasks/next?wait=1`);
              if (r.status !== 200) return null;
              const task = r.body.task as { id: string };
              if (task.id !== taskId) throw new Error(`${id} claimed ${task.id}, expected ${taskId}`);
              return r.body.attempt as number;
            },
            20_000,
            `${id} to claim ${taskId}`,
          );
        },
        async stream(taskId, attempt, seq, content) {
          const r = await call("POST", `/api/tasks/${taskId}/stream`, { seq, content, attempt }, h);
          if (r.status !== 200) throw new Error(`stream: ${r.status} ${JSON.stringify(r.body)}`);
        },
        async finish(taskId, attempt, result) {
          const body =
            "error" in result
              ? { status: "failed", error: result.error, attempt }
              : { status: "done", output: result.output, attempt };
          const r = await call("PUT", `/api/tasks/${taskId}`, body, h);
          if (r.status !== 200) throw new Error(`finish: ${r.status} ${JSON.stringify(r.body)}`);
        },
      };
    },
    async close() {
      for (const stop of stops) stop();
      if (worker && worker.exitCode === null) {
        const exited = new Promise((r) => worker.once("exit", r));
        worker.kill("SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (worker.exitCode === null) worker.kill("SIGKILL");
      }
      await mesh.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `fn` until it returns a truthy value (real state, not a sleep). */
export async function until<T>(
  fn: () => Promise<T | null | undefined | false> | T | null | undefined | false,
  ms = 10_000,
  what = "condition",
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/**
 * A fresh browser context (its own cookies), desktop-sized unless told otherwise, preferring
 * reduced motion unless told otherwise.
 */
export async function newPage(
  browser: Browser,
  options: { width?: number; height?: number; reducedMotion?: "reduce" | "no-preference" } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport: { width: options.width ?? 1280, height: options.height ?? 900 },
    reducedMotion: options.reducedMotion ?? "reduce",
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (err) => errors.push(err.message));
  // CSP violations and script errors surface as console errors: a test reading them fails loudly.
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });
  Object.assign(page, { errors });
  return { context, page };
}

export function pageErrors(page: Page): string[] {
  return (page as Page & { errors?: string[] }).errors ?? [];
}

export async function login(page: Page, url: string, who: keyof typeof USERS): Promise<void> {
  await page.goto(`${url}/`);
  await page.getByTestId("login-username").fill(USERS[who].username);
  await page.getByTestId("login-password").fill(USERS[who].password);
  await page.getByTestId("login-submit").click();
  await page.getByTestId("whoami").waitFor();
  const role = await page.getByTestId("whoami").getAttribute("data-role");
  if (role !== USERS[who].role) throw new Error(`logged in as ${role}, expected ${USERS[who].role}`);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Where `screenshot(page, name)` saved its picture, and its size (0 when missing). */
export function screenshotBytes(name: string): number {
  try {
    return statSync(join(ARTIFACTS, `${name}.png`)).size;
  } catch {
    return 0;
  }
}

/** The id of a task created over the API (fails the test on anything but 201). */
export async function createTask(m: DashboardMesh, body: Record<string, unknown>): Promise<string> {
  const res = await m.call("POST", "/api/tasks", { title: "t", prompt: "p", ...body });
  if (res.status !== 201) throw new Error(`create task: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body.task as { id: string }).id;
}
