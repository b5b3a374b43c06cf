#!/usr/bin/env node
import { serve } from "@hono/node-server";
import { createClient } from "@m3shd/client";
import { createClientPort } from "./client-port";
import { parseMcpEnv } from "./env";
import { createHttpApp, defaultAllowedHosts } from "./http";
import { runStdio, StartupError, tokenFromEnv } from "./stdio";

const USAGE = `m3shd-mcp — the M3SHD mesh as an MCP server

  m3shd-mcp [stdio]   serve MCP on stdin/stdout (credentials: M3SHD_HUB_URL, M3SHD_TOKEN or M3SHD_TOKEN_FILE)
  m3shd-mcp http      serve Streamable HTTP on M3SHD_MCP_HOST:M3SHD_MCP_PORT (/mcp); bearer tokens checked by the hub

Credentials are read from the environment only, never from arguments.`;

/** One JSON line on stderr (stdout is the protocol in stdio mode). Never a token. */
function logLine(level: string, msg: string, extra: Record<string, unknown> = {}) {
  process.stderr.write(`${JSON.stringify({ level, time: Date.now(), msg, ...extra })}\n`);
}

function logError(err: unknown) {
  logLine("error", "unexpected error", {
    err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
  });
}

async function main(argv: string[]): Promise<number> {
  const [mode = "stdio", ...rest] = argv;
  if (mode === "--help" || mode === "-h") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (rest.length > 0 || !["stdio", "http"].includes(mode)) {
    // Refuse anything else, in particular `--token …`: a credential in argv is visible in `ps`.
    process.stderr.write(`m3shd-mcp: unexpected arguments\n\n${USAGE}\n`);
    return 2;
  }
  const env = parseMcpEnv(process.env);
  if (mode === "stdio") {
    const client = createClient({ baseUrl: env.M3SHD_HUB_URL, token: tokenFromEnv(env) });
    const { mesh, closed } = await runStdio({ env, port: createClientPort(client), log: logError });
    logLine("info", "m3shd-mcp serving on stdio", { hub: env.M3SHD_HUB_URL, tools: mesh.tools.length });
    const stop = () => void mesh.close();
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    await closed;
    return 0;
  }
  const publicUrl = env.M3SHD_MCP_PUBLIC_URL;
  const server = serve({
    fetch: (req) => http.app.fetch(req),
    hostname: env.M3SHD_MCP_HOST,
    port: env.M3SHD_MCP_PORT,
  });
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : env.M3SHD_MCP_PORT;
  const resourceUrl = publicUrl ?? `http://${env.M3SHD_MCP_HOST}:${port}/mcp`;
  const http = createHttpApp({
    portFor: (token) => createClientPort(createClient({ baseUrl: env.M3SHD_HUB_URL, token })),
    resourceUrl,
    authorizationServers: env.M3SHD_MCP_AUTH_SERVERS.length
      ? env.M3SHD_MCP_AUTH_SERVERS
      : [env.M3SHD_HUB_URL],
    allowedHosts: env.M3SHD_MCP_ALLOWED_HOSTS.length
      ? env.M3SHD_MCP_ALLOWED_HOSTS
      : defaultAllowedHosts(resourceUrl),
    allowedOrigins: env.M3SHD_MCP_ALLOWED_ORIGINS,
    pollMs: env.M3SHD_MCP_POLL_MS,
    awaitMaxMs: env.M3SHD_MCP_AWAIT_MAX_MS,
    sessionIdleMs: env.M3SHD_MCP_SESSION_IDLE_MS,
    log: logError,
  });
  logLine("info", "m3shd-mcp serving Streamable HTTP", { url: resourceUrl, hub: env.M3SHD_HUB_URL });
  await new Promise<void>((resolve) => {
    const stop = () => {
      logLine("info", "shutting down");
      server.close(() => resolve());
      void http.close();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (
      err instanceof StartupError ||
      (err instanceof Error && err.message.startsWith("Invalid m3shd-mcp configuration"))
    ) {
      process.stderr.write(`m3shd-mcp: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    logError(err);
    process.exitCode = 1;
  },
);
