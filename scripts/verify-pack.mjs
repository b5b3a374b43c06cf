#!/usr/bin/env node
// Proves the published packages work outside the repo: packs @m3shd/protocol and @m3shd/crypto
// (`pnpm pack`), installs the tarballs into a scratch project with npm, and imports them from plain
// Node (ESM and CommonJS) and from TypeScript type-checked with NodeNext resolution.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const run = (cmd, args, cwd) =>
  execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "inherit"] }).toString();
const scratch = mkdtempSync(join(tmpdir(), "m3shd-pack-"));
try {
  run(
    "pnpm",
    [
      "turbo",
      "run",
      "build",
      "--filter=@m3shd/protocol",
      "--filter=@m3shd/crypto",
      "--output-logs=errors-only",
    ],
    root,
  );
  const packs = join(scratch, "packs");
  for (const pkg of ["protocol", "crypto"])
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
  process.stdout.write("typescript (nodenext) ok\npack verification: 3 passed, 0 failed\n");
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
