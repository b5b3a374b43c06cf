import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { expectToolsSnapshot } from "../tools-snapshot";
import { assertBuilt, MASTER, MCP_BINARY, startJobsWorker, startTestMesh } from "./helpers";

const run = promisify(execFile);
const require = createRequire(import.meta.url);
/** The MCP Inspector's CLI (`@modelcontextprotocol/inspector-cli`), its non-interactive entry. */
const INSPECTOR = join(
  dirname(require.resolve("@modelcontextprotocol/inspector-cli/package.json")),
  "build/index.js",
);

/** Runs the Inspector CLI against the built stdio server; answers its JSON output. */
async function inspector(hubUrl: string, args: string[]) {
  const { stdout } = await run(process.execPath, [INSPECTOR, process.execPath, MCP_BINARY, ...args], {
    // The CLI hands its whole environment to the server it spawns: the credential stays out of argv.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", M3SHD_HUB_URL: hubUrl, M3SHD_TOKEN: MASTER },
    // The v1 CLI finds its own package.json with `existsSync("../package.json")`, relative to
    // the working directory: run it from its build directory.
    cwd: dirname(INSPECTOR),
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout);
}

describe("MCP Inspector CLI against the built server", () => {
  test("lists the tools (as snapshotted) and calls dispatch_task", { timeout: 120_000 }, async () => {
    assertBuilt();
    const mesh = await startTestMesh();
    startJobsWorker(mesh, "w-inspector", ["echo"]);
    const listed = await inspector(mesh.url, ["--method", "tools/list"]);
    expect(listed.tools).toHaveLength(17);
    expectToolsSnapshot(listed.tools, "inspector");

    const called = await inspector(mesh.url, [
      "--method",
      "tools/call",
      "--tool-name",
      "dispatch_task",
      "--tool-arg",
      "title=from the inspector",
      "prompt=inspected",
      "capability=echo",
    ]);
    expect(called.isError ?? false).toBe(false);
    expect(called.structuredContent).toMatchObject({
      status: "queued",
      task: { title: "from the inspector" },
    });
    expect(called.structuredContent.task_id).toMatch(/^task_/);
  });
});
