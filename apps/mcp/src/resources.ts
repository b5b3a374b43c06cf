import { createHash } from "node:crypto";
import { type Permission, TaskIdSchema } from "@m3shd/protocol";
import { type McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  McpError,
  ErrorCode as McpErrorCode,
  type ReadResourceResult,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { isFinished } from "./await";
import { protocolErrorOf } from "./errors";
import type { MeshPort } from "./port";

/*
 * Resources: `m3shd://tasks/{id}` (the task with its output and streamed chunks), `m3shd://agents`
 * and `m3shd://templates`. A subscription is watched by polling through the caller's own port
 * (the hub's RBAC applies to every read); when what a reader would see changes, the server sends
 * `notifications/resources/updated`. A task's watch ends after it finishes.
 */

export const AGENTS_URI = "m3shd://agents";
export const TEMPLATES_URI = "m3shd://templates";
export const TASK_URI_TEMPLATE = "m3shd://tasks/{id}";

export function taskUri(id: string): string {
  return `m3shd://tasks/${id}`;
}

interface Watched {
  fingerprint: string | null;
  /** Stop watching after the next check (a finished task). */
  final: boolean;
}

export interface ResourceOptions {
  port: MeshPort;
  permissions: ReadonlySet<Permission>;
  pollMs: number;
  log: (err: unknown) => void;
}

function json(uri: string, value: unknown): ReadResourceResult {
  return { contents: [{ uri, mimeType: "application/json", text: JSON.stringify(value, null, 2) }] };
}

/** A resource read the hub refused: a JSON-RPC error with the protocol's code and message. */
function readError(err: unknown, log: (err: unknown) => void): McpError {
  const known = protocolErrorOf(err);
  if (!known) {
    log(err);
    return new McpError(McpErrorCode.InternalError, "internal: The MCP server failed to read the resource");
  }
  const code =
    known.code === "not_found" || known.code === "validation_failed"
      ? McpErrorCode.InvalidParams
      : McpErrorCode.InternalError;
  return new McpError(code, `${known.code}: ${known.message}`, { code: known.code });
}

function digest(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex");
}

/** Registers the resources the credential may read, and the subscription handlers. */
export function registerResources(server: McpServer, options: ResourceOptions) {
  const { port, permissions, log } = options;
  const canReadTasks = permissions.has("tasks:read");
  const canReadAgents = permissions.has("agents:read");

  /** What a reader would see, reduced to what matters for "it changed". */
  async function snapshot(uri: string): Promise<{ value: unknown; final: boolean }> {
    if (uri === AGENTS_URI) {
      // Heartbeat timestamps and load change every few seconds; they are not news.
      const agents = await port.listAgents();
      return {
        value: agents.map(({ last_seen_at: _seen, load_avg: _load, ...rest }) => rest),
        final: false,
      };
    }
    if (uri === TEMPLATES_URI) return { value: await port.listTemplates(), final: false };
    const id = taskIdOf(uri);
    const [task, chunks] = await Promise.all([port.getTask(id), port.listChunks(id)]);
    return { value: { task, chunks: chunks.length }, final: isFinished(task.status) };
  }

  async function readTask(uri: string, id: string): Promise<ReadResourceResult> {
    try {
      const [task, chunks] = await Promise.all([port.getTask(id), port.listChunks(id)]);
      return json(uri, { task, chunks });
    } catch (err) {
      throw readError(err, log);
    }
  }

  if (canReadTasks) {
    server.registerResource(
      "task",
      new ResourceTemplate(TASK_URI_TEMPLATE, {
        list: async () => {
          try {
            const page = await port.listTasks({ limit: 20 });
            return {
              resources: page.tasks.map((t) => ({
                uri: taskUri(t.id),
                name: t.id,
                title: t.title,
                mimeType: "application/json",
              })),
            };
          } catch (err) {
            throw readError(err, log);
          }
        },
      }),
      {
        title: "Task",
        description: "One task with its state, output and streamed chunks. Subscribe to follow it.",
        mimeType: "application/json",
      },
      (uri, variables) => readTask(uri.href, String(variables.id)),
    );
    server.registerResource(
      "templates",
      TEMPLATES_URI,
      { title: "Task templates", description: "The mesh's task templates.", mimeType: "application/json" },
      async (uri) => {
        try {
          return json(uri.href, { templates: await port.listTemplates() });
        } catch (err) {
          throw readError(err, log);
        }
      },
    );
  }
  if (canReadAgents) {
    server.registerResource(
      "agents",
      AGENTS_URI,
      {
        title: "Agents",
        description: "The mesh's agents and their live state.",
        mimeType: "application/json",
      },
      async (uri) => {
        try {
          return json(uri.href, { agents: await port.listAgents() });
        } catch (err) {
          throw readError(err, log);
        }
      },
    );
  }

  const watched = new Map<string, Watched>();
  let timer: NodeJS.Timeout | null = null;
  let checking = false;

  function readable(uri: string): boolean {
    if (uri === AGENTS_URI) return canReadAgents;
    if (uri === TEMPLATES_URI) return canReadTasks;
    return (
      canReadTasks &&
      TaskIdSchema.safeParse(uri.replace(/^m3shd:\/\/tasks\//, "")).success &&
      uri.startsWith("m3shd://tasks/")
    );
  }

  async function check() {
    if (checking) return;
    checking = true;
    try {
      for (const [uri, state] of watched) {
        let next: { value: unknown; final: boolean };
        try {
          next = await snapshot(uri);
        } catch (err) {
          log(err);
          continue;
        }
        const fingerprint = digest(next.value);
        // A change since the subscription's first look is news; the first look itself is not.
        if (state.fingerprint !== null && state.fingerprint !== fingerprint && watched.has(uri)) {
          await server.server.sendResourceUpdated({ uri });
        }
        state.fingerprint = fingerprint;
        if (next.final) {
          if (state.final) watched.delete(uri);
          state.final = true;
        }
      }
    } finally {
      checking = false;
      if (watched.size === 0) stop();
    }
  }

  function stop() {
    if (timer) clearInterval(timer);
    timer = null;
  }

  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    const { uri } = request.params;
    if (!readable(uri))
      throw new McpError(McpErrorCode.InvalidParams, `Unknown or unreadable resource ${uri}`);
    if (!watched.has(uri)) {
      const state: Watched = { fingerprint: null, final: false };
      watched.set(uri, state);
      // Take the baseline now, so a change right after the subscription is seen.
      try {
        const first = await snapshot(uri);
        state.fingerprint = digest(first.value);
      } catch (err) {
        watched.delete(uri);
        throw readError(err, log);
      }
    }
    timer ??= setInterval(() => void check(), options.pollMs);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    watched.delete(request.params.uri);
    if (watched.size === 0) stop();
    return {};
  });

  return {
    /** Stops every watch (the server is closing). */
    close() {
      watched.clear();
      stop();
    },
  };
}

function taskIdOf(uri: string): string {
  return uri.replace(/^m3shd:\/\/tasks\//, "");
}
