import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { basename, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type ComposeFile, type ComposeService, INFRA, REPO } from "./compose";
import { type Dockerfile, envOf, execForm, healthcheckOf, last, parseDockerfile } from "./dockerfile";

/**
 * infra/compose.yml, run without Docker: every service's command, with its image's environment and
 * the compose file's, as a plain local process. What a container would see is translated, and only
 * that:
 *
 * - the image's files: `/app` is the app's package directory (what `pnpm deploy` copies, with its
 *   production dependencies), other files the Dockerfile COPYs from the repository are those files;
 * - volumes, secrets and tmpfs mounts are directories under one temporary root (one shared data
 *   directory for every service that mounts `data`, as in compose);
 * - `redis` is the machine's own Redis, under a unique key prefix; other service names in URLs are
 *   127.0.0.1;
 * - ports stay the compose ports when free, else the `*_PORT` variable alone is rewritten to a free
 *   port (the containers each have their own network namespace, these processes share one).
 */

export interface LocalService {
  name: string;
  /** The app of its image (`hub`, `worker` …); null for `redis`, which is the machine's own. */
  app: string | null;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** Its healthcheck, as a local command; null when it has none (one-shots). */
  health: string[] | null;
  /** Runs to completion (others wait for `service_completed_successfully`). */
  oneShot: boolean;
  dependsOn: Record<string, string>;
  /** Container port → local port, for its `*_PORT` variables. */
  ports: Map<number, number>;
  log: string;
}

export interface PlanOptions {
  compose: ComposeFile;
  /** Temporary root for volumes, tmpfs, logs and homes. */
  root: string;
  /** Directory holding the compose file's secret files (infra/init-secrets.sh output). */
  secretsDir: string;
  redisUrl: string;
  redisPrefix: string;
}

const DOCKERFILE_APP = /infra\/docker\/([a-z-]+)\.Dockerfile$/;

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The Dockerfile that builds each image name (services without `build` run another's image). */
function dockerfilesByImage(compose: ComposeFile): Map<string, Dockerfile> {
  const map = new Map<string, Dockerfile>();
  for (const service of Object.values(compose.services)) {
    if (service.build && service.image) {
      map.set(service.image, parseDockerfile(join(INFRA, service.build.context, service.build.dockerfile)));
    }
  }
  return map;
}

/** Container path prefixes → local paths, longest first. */
function mountsOf(
  name: string,
  service: ComposeService,
  file: Dockerfile | null,
  app: string | null,
  options: PlanOptions,
): [string, string][] {
  const mounts: [string, string][] = [];
  if (file && app) {
    mounts.push([last(file.final, "WORKDIR")?.args ?? "/app", join(REPO, "apps", app)]);
    // Files the final stage copies from the repository (not from the build stage).
    for (const ins of file.final.instructions.filter(
      (i) => i.keyword === "COPY" && !i.args.includes("--from"),
    )) {
      const parts = ins.args.split(/\s+/).filter((p) => !p.startsWith("--"));
      const dest = parts.pop() ?? "";
      for (const src of parts)
        mounts.push([dest.endsWith("/") ? dest + basename(src) : dest, join(REPO, src)]);
    }
    // Directories the build stage copies into the deploy output (`cp -r apps/x/dist /out/y`).
    for (const stage of file.stages.slice(0, -1)) {
      for (const ins of stage.instructions.filter((i) => i.keyword === "RUN")) {
        for (const m of ins.args.matchAll(/cp -r (\S+) \/out\/(\S+)/g)) {
          if (m[1] && m[2]) mounts.push([`/app/${m[2]}`, join(REPO, m[1])]);
        }
      }
    }
  }
  for (const volume of service.volumes ?? []) {
    const [source = "", target = ""] = volume.split(":");
    mounts.push([target, join(options.root, "volumes", source)]);
  }
  for (const secret of service.secrets ?? []) {
    const file = options.compose.secrets?.[secret]?.file;
    if (!file) throw new Error(`${name}: secret ${secret} is not a file secret`);
    mounts.push([`/run/secrets/${secret}`, join(options.secretsDir, basename(file))]);
  }
  for (const tmpfs of service.tmpfs ?? []) mounts.push([tmpfs, join(options.root, "tmpfs", name)]);
  return mounts.sort((a, b) => b[0].length - a[0].length);
}

function toHost(mounts: [string, string][], path: string): string {
  for (const [container, host] of mounts) {
    if (path === container) return host;
    if (path.startsWith(`${container}/`)) return join(host, path.slice(container.length + 1));
  }
  return path;
}

/** The local command of a container command: `node` is this node, container paths are local ones. */
function localArgv(argv: string[], mounts: [string, string][], rewrite: (arg: string) => string): string[] {
  return argv.map((arg, i) =>
    i === 0 && arg === "node" ? process.execPath : rewrite(arg.startsWith("/") ? toHost(mounts, arg) : arg),
  );
}

/** Plans every compose service as a local process (no process is started). */
export async function planTopology(options: PlanOptions): Promise<LocalService[]> {
  const { compose } = options;
  const images = dockerfilesByImage(compose);
  const names = Object.keys(compose.services);
  const plans: LocalService[] = [];
  const used = new Set<number>();
  // Published ports (`127.0.0.1:7700:7700`): host port → [service, container port].
  const published = new Map<number, [string, number]>();
  const drafts = new Map<string, { env: Record<string, string>; ports: Map<number, number> }>();
  const moved: string[] = [];

  for (const name of names) {
    const service = compose.services[name] as ComposeService;
    for (const spec of service.ports ?? []) {
      const parts = spec.split(":").map(Number);
      const container = parts.at(-1) ?? 0;
      const host = parts.at(-2) ?? container;
      published.set(host, [name, container]);
    }
    const file = service.image ? (images.get(service.image) ?? null) : null;
    const env = { ...(file ? envOf(file.final) : {}), ...(service.environment ?? {}) };
    const ports = new Map<number, number>();
    for (const [key, value] of Object.entries(env)) {
      if (!key.endsWith("_PORT") || !/^\d+$/.test(value)) continue;
      const container = Number(value);
      const local = !used.has(container) && (await portFree(container)) ? container : await freePort();
      if (local !== container) moved.push(`${name} ${key}: ${container} → ${local} (in use here)`);
      used.add(local);
      ports.set(container, local);
      env[key] = String(local);
    }
    drafts.set(name, { env, ports });
  }

  const localUrl = (value: string): string =>
    value.replace(
      /^(\w+):\/\/([A-Za-z0-9.-]+):(\d+)/,
      (whole, _scheme: string, host: string, port: string) => {
        if (host === "redis") return options.redisUrl;
        const target =
          host === "localhost" || host === "127.0.0.1" ? published.get(Number(port)) : [host, Number(port)];
        if (!target || !drafts.has(target[0] as string)) return whole;
        const local = drafts.get(target[0] as string)?.ports.get(target[1] as number);
        return local === undefined
          ? whole
          : `http://${host === "localhost" ? "localhost" : "127.0.0.1"}:${local}`;
      },
    );

  for (const name of names) {
    const service = compose.services[name] as ComposeService;
    const draft = drafts.get(name);
    if (!draft) continue;
    const file = service.image ? (images.get(service.image) ?? null) : null;
    const app = file ? (DOCKERFILE_APP.exec(file.path)?.[1] ?? null) : null;
    const mounts = mountsOf(name, service, file, app, options);
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(draft.env)) {
      env[key] = value.startsWith("/") ? toHost(mounts, value) : localUrl(value);
    }
    if (env.REDIS_URL !== undefined) env.M3SHD_REDIS_PREFIX = options.redisPrefix;
    const cmd = service.command ?? (file ? execForm(last(file.final, "CMD")?.args ?? "") : null);
    // Its own ports, for its healthcheck's `127.0.0.1:<port>`.
    const own = (arg: string) =>
      arg.replace(/\/\/127\.0\.0\.1:(\d+)/, (whole, port: string) => {
        const local = draft.ports.get(Number(port));
        return local === undefined ? whole : `//127.0.0.1:${local}`;
      });
    let health: string[] | null = null;
    if (service.healthcheck?.disable) health = null;
    else if (service.healthcheck?.test) health = service.healthcheck.test.slice(1);
    else if (file) health = healthcheckOf(file);
    const workdir = file ? (last(file.final, "WORKDIR")?.args ?? "/app") : "/";
    const dependents = Object.values(compose.services).flatMap((s) => Object.entries(s.depends_on ?? {}));
    plans.push({
      name,
      app,
      argv: cmd && app ? localArgv(cmd, mounts, (a) => a) : [],
      cwd: toHost(mounts, workdir),
      env,
      health: health && app ? localArgv(health, mounts, own) : null,
      oneShot: dependents.some(
        ([dep, c]) => dep === name && c.condition === "service_completed_successfully",
      ),
      dependsOn: Object.fromEntries(
        Object.entries(service.depends_on ?? {}).map(([d, c]) => [d, c.condition]),
      ),
      ports: draft.ports,
      log: join(options.root, "logs", `${name}.log`),
    });
    for (const [, host] of mounts) {
      if (host.startsWith(options.root) && !existsSync(host) && !host.endsWith(".health")) {
        mkdirSync(host, { recursive: true, mode: 0o700 });
      }
    }
  }
  mkdirSync(join(options.root, "logs"), { recursive: true });
  // Said out loud: a port another process on this machine holds is the one thing rewritten.
  if (moved.length > 0) console.info(`compose ports moved:\n  ${moved.join("\n  ")}`);
  return plans;
}

/** Runs a command to its end; resolves its exit code (never rejects). */
export function runCommand(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const [cmd = "", ...args] = argv;
    const child = spawn(cmd, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
    });
    child.on("error", (err) => resolve({ code: -1, output: err.message }));
    child.on("exit", (code) => resolve({ code, output }));
  });
}

export interface RunningTopology {
  plans: Map<string, LocalService>;
  /** Runs a service's healthcheck now: its exit code is the answer. */
  health(name: string): Promise<{ code: number | null; output: string }>;
  /** Exit codes of the one-shots. */
  completed: Map<string, number | null>;
  /** SIGTERM to every running process (reverse start order); resolves their exit codes. */
  stop(): Promise<Map<string, number | null>>;
  logTail(name: string, lines?: number): string;
}

/**
 * Starts the plan in `depends_on` order: a dependency `service_healthy` is waited for by running
 * its healthcheck until it passes, `service_completed_successfully` by waiting for exit 0. `redis`
 * is not started: `redisHealthy` answers for the machine's own.
 */
export async function startTopology(
  plans: LocalService[],
  options: { redisHealthy: () => Promise<boolean>; timeoutMs?: number },
): Promise<RunningTopology> {
  const timeoutMs = options.timeoutMs ?? 45_000;
  const byName = new Map(plans.map((p) => [p.name, p]));
  const children: { name: string; child: ChildProcess; exit: Promise<number | null> }[] = [];
  const completed = new Map<string, number | null>();
  const started = new Set<string>();
  const health = (name: string) => {
    const plan = byName.get(name);
    if (!plan?.health) return Promise.resolve({ code: -1, output: `${name} has no healthcheck` });
    const [cmd = "", ...args] = plan.health;
    return runCommand([cmd, ...args], { cwd: plan.cwd, env: { PATH: process.env.PATH ?? "" } });
  };
  const logTail = (name: string, lines = 30) => {
    const plan = byName.get(name);
    if (!plan || !existsSync(plan.log)) return "";
    return readFileSync(plan.log, "utf8").split("\n").slice(-lines).join("\n");
  };

  async function until(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(200);
    }
  }

  async function ensure(name: string, condition: string): Promise<void> {
    const plan = byName.get(name);
    if (!plan) throw new Error(`unknown service ${name}`);
    if (plan.app === null) {
      await until(`${name} (the machine's Redis)`, options.redisHealthy);
      return;
    }
    await start(name);
    if (condition === "service_healthy") {
      await until(`${name} to be healthy:\n${logTail(name)}`, async () => (await health(name)).code === 0);
    } else if (condition === "service_completed_successfully") {
      const run = children.find((c) => c.name === name);
      const code = await run?.exit;
      if (code !== 0) throw new Error(`${name} exited ${code}:\n${logTail(name)}`);
    }
  }

  async function start(name: string): Promise<void> {
    if (started.has(name)) return;
    started.add(name);
    const plan = byName.get(name);
    if (!plan || plan.app === null) return;
    for (const [dep, condition] of Object.entries(plan.dependsOn)) await ensure(dep, condition);
    const [cmd = "", ...args] = plan.argv;
    const fd = openSync(plan.log, "a");
    const home = join(plan.log, "..", "..", "home", name);
    mkdirSync(home, { recursive: true });
    const child = spawn(cmd, args, {
      cwd: plan.cwd,
      env: { PATH: process.env.PATH ?? "", HOME: home, ...plan.env },
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    const exit = new Promise<number | null>((resolve) => {
      child.on("exit", (code, signal) => {
        if (plan.oneShot) completed.set(name, code);
        resolve(code ?? (signal ? -1 : null));
      });
      child.on("error", () => resolve(-1));
    });
    children.push({ name, child, exit });
  }

  try {
    for (const plan of plans) await start(plan.name);
  } catch (err) {
    await stopAll();
    throw err;
  }

  async function stopAll(): Promise<Map<string, number | null>> {
    const codes = new Map<string, number | null>();
    for (const { name, child, exit } of [...children].reverse()) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const code = await Promise.race([exit, sleep(15_000).then(() => "timeout" as const)]);
      if (code === "timeout") {
        child.kill("SIGKILL");
        codes.set(name, await exit);
      } else if (!completed.has(name)) {
        codes.set(name, code);
      }
    }
    return codes;
  }

  return { plans: byName, health, completed, stop: stopAll, logTail };
}
