import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Every test reads the real build: build it once before the run (esbuild: well under a second). */
export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL("../build.mjs", import.meta.url))], {
    stdio: "inherit",
  });
}
