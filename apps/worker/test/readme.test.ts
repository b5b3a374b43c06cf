import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const README = readFileSync(fileURLToPath(new URL("../README.md", import.meta.url)), "utf8");

/** The newcomer's path through the READMEs, checked against what the tools really do. */
describe("the README's commands", () => {
  it("the build line builds the worker and the packages it runs on, not the hub", () => {
    const line = README.split("\n").find((l) => l.startsWith("pnpm turbo run build --filter=@m3shd/worker"));
    expect(line).toBeDefined();
    const args = (line as string).split(/\s+/).slice(1);
    const out = execFileSync("pnpm", [...args, "--dry=json"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
    });
    const tasks = (JSON.parse(out.slice(out.indexOf("{"))) as { tasks: { taskId: string }[] }).tasks
      .map((t) => t.taskId)
      .sort();
    expect(tasks).toEqual([
      "@m3shd/client#build",
      "@m3shd/crypto#build",
      "@m3shd/jobs#build",
      "@m3shd/protocol#build",
      "@m3shd/providers#build",
      "@m3shd/worker#build",
    ]);
  }, 60_000);

  it("the root README names the pnpm version that packageManager pins", () => {
    const pinned = (JSON.parse(readFileSync(`${ROOT}package.json`, "utf8")) as { packageManager: string })
      .packageManager;
    const root = readFileSync(`${ROOT}README.md`, "utf8");
    expect(pinned).toMatch(/^pnpm@\d+\.\d+\.\d+$/);
    expect(root).toContain(`npm install -g ${pinned}`);
    expect(root).not.toMatch(/npm install -g pnpm@10(?!\.)/);
  });
});
