#!/usr/bin/env node
// `pnpm start`: build the all-in-one mesh (cached by Turborepo after the first run) and run the
// built JavaScript with plain node — the same artefact production runs. Signals pass through.
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
process.stdout.write("Building the mesh (first run takes a minute; later runs are cached)…\n");
const build = spawnSync(
  "pnpm",
  ["turbo", "run", "build", "--filter=@m3shd/mesh...", "--output-logs=errors-only"],
  {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
  },
);
if (build.status !== 0) {
  process.stderr.write("Build failed; run `pnpm build` to see why.\n");
  process.exit(build.status ?? 1);
}
const child = spawn(process.execPath, [join(root, "apps/mesh/dist/index.js")], {
  cwd: root,
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
