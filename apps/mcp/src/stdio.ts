import { readFileSync } from "node:fs";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { McpEnv } from "./env";
import { protocolErrorOf } from "./errors";
import type { MeshPort } from "./port";
import { createMeshServer } from "./server";

/** A configuration or credential problem: printed on stderr, exit code 2. */
export class StartupError extends Error {}

/**
 * The stdio token: `M3SHD_TOKEN`, or the first line of `M3SHD_TOKEN_FILE`. Never argv — a
 * command line is visible to every user of the machine (`ps`), an environment is not.
 */
export function tokenFromEnv(env: McpEnv): string {
  if (env.M3SHD_TOKEN) return env.M3SHD_TOKEN;
  if (env.M3SHD_TOKEN_FILE) {
    const first = readFileSync(env.M3SHD_TOKEN_FILE, "utf8").split(/\r?\n/)[0]?.trim();
    if (first) return first;
    throw new StartupError(`M3SHD_TOKEN_FILE ${env.M3SHD_TOKEN_FILE} is empty`);
  }
  throw new StartupError(
    "Set M3SHD_TOKEN (or M3SHD_TOKEN_FILE) to a hub token; credentials are never read from argv",
  );
}

/**
 * Serves MCP on stdin/stdout for one credential. Asks the hub who the token is first, so a bad
 * token fails at start with a clear message instead of on the first tool call.
 */
export async function runStdio(options: { env: McpEnv; port: MeshPort; log: (err: unknown) => void }) {
  let permissions: string[];
  try {
    permissions = (await options.port.whoAmI()).permissions;
  } catch (err) {
    const known = protocolErrorOf(err);
    throw new StartupError(
      known
        ? `The hub refused the token (${known.code}: ${known.message})`
        : `The hub at ${options.env.M3SHD_HUB_URL} could not be reached`,
    );
  }
  const mesh = createMeshServer({
    port: options.port,
    permissions: permissions as never,
    pollMs: options.env.M3SHD_MCP_POLL_MS,
    awaitMaxMs: options.env.M3SHD_MCP_AWAIT_MAX_MS,
    log: options.log,
  });
  const transport = new StdioServerTransport();
  await mesh.server.connect(transport);
  const closed = new Promise<void>((resolve) => {
    mesh.server.server.onclose = () => resolve();
  });
  // The client closing our stdin is the end of the session (the SDK transport does not watch it).
  process.stdin.once("end", () => void mesh.close());
  return { mesh, closed };
}
