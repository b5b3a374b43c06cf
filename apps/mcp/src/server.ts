import type { Permission } from "@m3shd/protocol";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { AWAIT_MAX_MS, type AwaitClock } from "./await";
import { toolError } from "./errors";
import type { MeshPort } from "./port";
import { registerResources } from "./resources";
import { createTasksAdapter } from "./tasks-adapter";
import { TOOLS, type ToolContext, type ToolDef } from "./tools";

export const SERVER_NAME = "m3shd";
export const SERVER_VERSION = "0.1.0";

export interface MeshServerOptions {
  /** The mesh, as seen by ONE credential. */
  port: MeshPort;
  /**
   * What that credential may do (`GET /api/auth/me`). A tool whose route permission is missing is
   * not registered, so it is absent from `tools/list` and a call to it is "tool not found"; the hub
   * would refuse it anyway.
   */
  permissions: Iterable<Permission>;
  /** `await_task`, Tasks and subscription poll interval (ms). Default 250. */
  pollMs?: number;
  /** `await_task` ceiling (ms). A larger value is clamped to 50 000 (`AWAIT_MAX_MS`). Default 50 000. */
  awaitMaxMs?: number;
  /** `await_task`'s clock. Default: the system clock; tests pass a virtual one. */
  clock?: AwaitClock;
  /** Unexpected errors (never sent to the client). */
  log?: (err: unknown) => void;
}

export interface MeshServer {
  server: McpServer;
  /** Names of the tools this credential sees. */
  tools: string[];
  close(): Promise<void>;
}

/** The MCP server over one mesh credential: the 17 tools it may use, the resources, Tasks. */
export function createMeshServer(options: MeshServerOptions): MeshServer {
  const permissions = new Set(options.permissions);
  const pollMs = options.pollMs ?? 250;
  const awaitMaxMs = Math.min(options.awaitMaxMs ?? AWAIT_MAX_MS, AWAIT_MAX_MS);
  const log = options.log ?? (() => {});
  const tasks = createTasksAdapter({ port: options.port, pollMs, log });
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION, title: "M3SHD agent mesh" },
    {
      capabilities: {
        tools: { listChanged: false },
        resources: { subscribe: true, listChanged: false },
        tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } },
      },
      taskStore: tasks.store,
      instructions:
        "Tools for an M3SHD agent mesh. dispatch_task / create_pipeline return at once; " +
        "follow a task with await_task (≤ 50 s per call; call again while it answers still_running) or " +
        "subscribe to m3shd://tasks/{id}.",
    },
  );

  const visible: string[] = [];
  for (const def of TOOLS as readonly ToolDef[]) {
    if (!permissions.has(def.permission)) continue;
    visible.push(def.name);
    if (def.name === "dispatch_task") {
      tasks.register(server, def);
      continue;
    }
    server.registerTool(
      def.name,
      {
        title: def.title,
        description: def.description,
        inputSchema: def.input,
        outputSchema: def.output,
        annotations: def.annotations,
      },
      async (args: unknown, extra) => {
        const progressToken = extra._meta?.progressToken;
        const ctx: ToolContext = {
          port: options.port,
          pollMs,
          awaitMaxMs,
          ...(options.clock ? { clock: options.clock } : {}),
          signal: extra.signal,
          ...(progressToken !== undefined
            ? {
                onProgress: async (step) => {
                  await extra.sendNotification({
                    method: "notifications/progress",
                    params: { progressToken, progress: step.progress, message: step.message },
                  });
                },
              }
            : {}),
        };
        try {
          const output = await def.run(ctx, args as never);
          return {
            content: [{ type: "text", text: JSON.stringify(output) }],
            structuredContent: output as Record<string, unknown>,
          };
        } catch (err) {
          return toolError(err, log);
        }
      },
    );
  }

  const resources = registerResources(server, { port: options.port, permissions, pollMs, log });

  return {
    server,
    tools: visible,
    async close() {
      resources.close();
      tasks.close();
      await server.close();
    },
  };
}
