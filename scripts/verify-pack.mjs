#!/usr/bin/env node
// Proves the published packages work outside the repo: packs @m3shd/protocol, @m3shd/crypto and
// @m3shd/client (`pnpm pack`), installs the tarballs into a scratch project with npm, imports them
// from plain Node (ESM and CommonJS) and from TypeScript type-checked with NodeNext resolution —
// and, against a running mesh (the built all-in-one mesh in embedded mode on an ephemeral port with
// a temp data dir, plus its local jobs worker), creates a task with the packed client from both an
// ESM and a CommonJS script and sees it complete.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const run = (cmd, args, cwd, env = process.env) =>
  execFileSync(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "inherit"] }).toString();
const scratch = mkdtempSync(join(tmpdir(), "m3shd-pack-"));
const children = [];
const started = Date.now();
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** The environment for the mesh and its worker: the caller's, minus anything that would point them elsewhere. */
function isolatedEnv(extra) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key === "REDIS_URL" || key.startsWith("M3SHD_")) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Starts the built mesh on port 0 and resolves with its URL, read from its startup banner. */
function startMesh(dataDir, token) {
  const child = spawn(process.execPath, [join(root, "apps/mesh/dist/index.js")], {
    cwd: scratch,
    env: isolatedEnv({
      M3SHD_PORT: "0",
      M3SHD_HOST: "127.0.0.1",
      M3SHD_DATA_DIR: dataDir,
      M3SHD_MASTER_TOKEN: token,
      M3SHD_LOG_LEVEL: "warn",
    }),
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`mesh did not start in 60 s:\n${out}`)), 60_000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text) => {
      out += text;
      const match = /mesh is up at (http:\/\/[^\s]+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`mesh exited (${code}) before it was up:\n${out}`));
    });
  });
}

function startWorker(hub, token, spoolDir) {
  const child = spawn(process.execPath, [join(root, "apps/worker/dist/index.js")], {
    cwd: scratch,
    env: isolatedEnv({
      M3SHD_HUB: hub,
      M3SHD_TOKEN: token,
      M3SHD_AGENT_ID: "pack-jobs",
      M3SHD_PROVIDER: "jobs",
      M3SHD_SPOOL_DIR: spoolDir,
      M3SHD_LOG_LEVEL: "warn",
    }),
    stdio: ["ignore", "inherit", "inherit"],
  });
  children.push(child);
}

/** Runs a scratch script without blocking this process (the mesh's output is read meanwhile). */
function runScript(file, cwd, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [file], { cwd, env, stdio: ["ignore", "inherit", "inherit"] });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${file} failed (${signal ?? code})`));
    });
  });
}

/** SIGTERM, then SIGKILL after 5 s; resolves when every child has exited. */
async function stopChildren() {
  await Promise.all(
    children.reverse().map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
          child.once("exit", () => {
            clearTimeout(kill);
            resolve();
          });
          child.kill("SIGTERM");
        }),
    ),
  );
}

try {
  run(
    "pnpm",
    [
      "turbo",
      "run",
      "build",
      "--filter=@m3shd/protocol",
      "--filter=@m3shd/crypto",
      "--filter=@m3shd/client",
      "--filter=@m3shd/mesh...",
      "--filter=@m3shd/worker...",
      "--output-logs=errors-only",
    ],
    root,
    { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  );
  const packs = join(scratch, "packs");
  for (const pkg of ["protocol", "crypto", "client"])
    run("pnpm", ["pack", "--pack-destination", packs], join(root, "packages", pkg));
  const tarballs = readdirSync(packs).map((f) => join(packs, f));
  const app = join(scratch, "app");
  run("mkdir", ["-p", app]);
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "scratch", private: true, type: "module" }),
  );
  // @types/node: a Node TypeScript project has it, and @m3shd/crypto's API speaks Buffer.
  run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--loglevel=error",
      ...tarballs,
      "typescript@5.9.3",
      "@types/node@20",
    ],
    app,
  );
  writeFileSync(
    join(app, "esm.mjs"),
    `import { CreateTaskBodySchema, LIMITS } from "@m3shd/protocol";
import { sign, verify, MerkleLog, hashLeaf } from "@m3shd/crypto";
const body = CreateTaskBodySchema.parse({ title: "t", prompt: "p", required_capability: "code" });
if (body.priority !== 5 || LIMITS.promptBytes !== 8192) throw new Error("protocol");
if (!verify("k".repeat(32), "data", sign("k".repeat(32), "data"))) throw new Error("crypto");
const log = new MerkleLog(); log.append(hashLeaf("a"));
console.log("esm ok", log.size);
`,
  );
  writeFileSync(
    join(app, "cjs.cjs"),
    `const { ErrorBodySchema } = require("@m3shd/protocol");
const { hashPassword, verifyPassword } = require("@m3shd/crypto");
ErrorBodySchema.parse({ error: { code: "not_found", message: "x" } });
hashPassword("pw", { iterations: 1000 }).then((h) => verifyPassword("pw", h)).then((ok) => {
  if (!ok) throw new Error("crypto");
  console.log("cjs ok");
});
`,
  );
  writeFileSync(
    join(app, "typed.ts"),
    `import { type MeshEvent, MeshEventSchema, type Task } from "@m3shd/protocol";
import { type ProvenanceLink, verifyChain } from "@m3shd/crypto";
import { createClient, isHubError } from "@m3shd/client";
const client = createClient({ baseUrl: "http://127.0.0.1:7700", token: "t" });
export const created: Promise<Task> = client.tasks
  .create({ body: { title: "t", prompt: "p", required_capability: "echo" } })
  .then((res) => res.body.task);
export const claim = client.nextTask("agent-1", { waitSeconds: 1 }).then((c) => c?.attempt);
export async function firstEvent(): Promise<MeshEvent | undefined> {
  for await (const e of client.events({ types: ["task_completed"] })) return e;
}
export const isErr = (e: unknown): boolean => isHubError(e) && e.status === 404;
export function describe(e: MeshEvent): string {
  return e.type === "task_assigned" ? e.data.agent_id : e.type;
}
export const links: ProvenanceLink[] = [];
export const verdict = verifyChain("k".repeat(32), links);
export type T = Task["status"];
export const parsed = MeshEventSchema.safeParse({});
`,
  );
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "nodenext",
        moduleResolution: "nodenext",
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ["node"],
      },
      files: ["typed.ts"],
    }),
  );
  process.stdout.write(run("node", ["esm.mjs"], app));
  process.stdout.write(run("node", ["cjs.cjs"], app));
  try {
    run(join(app, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], app);
  } catch (err) {
    process.stderr.write(String(err.stdout ?? err));
    throw new Error("TypeScript (nodenext) could not type-check the packed packages");
  }
  process.stdout.write("typescript (nodenext) ok\n");

  // The packed client against a running mesh, from ESM and from CommonJS.
  writeFileSync(
    join(app, "client-esm.mjs"),
    `import { createClient } from "@m3shd/client";
import { NotFoundError } from "@m3shd/protocol";
const client = createClient({ baseUrl: process.env.HUB, token: process.env.TOKEN });
const events = client.events({ types: ["task_completed"] });
await events.opened;
const { status, body } = await client.tasks.create({
  body: { title: "pack esm", prompt: "hello from esm", required_capability: "echo" },
});
if (status !== 201) throw new Error("create: " + status);
const timer = setTimeout(() => { console.error("no task_completed event in 30 s"); process.exit(1); }, 30_000);
for await (const event of events) {
  if (event.type === "task_completed" && event.data.task_id === body.task.id) break;
}
clearTimeout(timer);
const { body: done } = await client.tasks.get({ params: { id: body.task.id } });
if (done.task.status !== "done" || done.task.output !== "hello from esm") throw new Error(JSON.stringify(done.task));
const missing = await client.tasks.get({ params: { id: "task_01JAAAAAAAAAAAAAAAAAAAAAAA" } }).catch((e) => e);
if (!(missing instanceof NotFoundError) || missing.status !== 404) throw new Error("typed error: " + missing);
console.log("client esm ok", done.task.id, done.task.status);
`,
  );
  writeFileSync(
    join(app, "client-cjs.cjs"),
    `const { createClient, isHubError } = require("@m3shd/client");
const client = createClient({ baseUrl: process.env.HUB, token: process.env.TOKEN });
(async () => {
  const { body } = await client.tasks.create({
    body: { title: "pack cjs", prompt: JSON.stringify({ job: "text_stats", input: "one two three" }), required_capability: "text_stats" },
  });
  const end = Date.now() + 30_000;
  let task = body.task;
  while (task.status !== "done" && task.status !== "failed" && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    task = (await client.tasks.get({ params: { id: task.id } })).body.task;
  }
  if (task.status !== "done" || JSON.parse(task.output).words !== 3) throw new Error(JSON.stringify(task));
  const refused = await createClient({ baseUrl: process.env.HUB, token: "not-the-token-not-the-token-0000" })
    .tasks.list().catch((e) => e);
  if (!isHubError(refused) || refused.code !== "unauthorized") throw new Error("typed error: " + refused);
  console.log("client cjs ok", task.id, task.status);
})().catch((err) => { console.error(err); process.exit(1); });
`,
  );
  const meshPhase = Date.now();
  const token = randomBytes(24).toString("hex");
  const hub = await startMesh(join(scratch, "data"), token);
  startWorker(hub, token, join(scratch, "spool"));
  const clientEnv = { ...process.env, HUB: hub, TOKEN: token };
  await runScript("client-esm.mjs", app, clientEnv);
  await runScript("client-cjs.cjs", app, clientEnv);
  process.stdout.write(
    `pack verification: 5 passed, 0 failed (${seconds(started)}; running mesh ${seconds(meshPhase)})\n`,
  );
} finally {
  await stopChildren();
  rmSync(scratch, { recursive: true, force: true });
}
