import type { Task as HubTask } from "@m3shd/protocol";
import { InMemoryTaskStore } from "@modelcontextprotocol/sdk/experimental/tasks/stores/in-memory.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, Request, RequestId, Task } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import { isFinished } from "./await";
import { toolError } from "./errors";
import type { MeshPort } from "./port";
import { DispatchTaskInput, type DispatchTaskOutput, dispatchTask, type ToolDef } from "./tools";

type DispatchResult = z.infer<typeof DispatchTaskOutput>;

/*
 * The MCP Tasks utility (spec 2025-11-25, SEP-1686; experimental in the SDK) for `dispatch_task`,
 * kept behind this one adapter because the spec is being revised (SEP-2663 drops `tasks/result`
 * and `tasks/list` and renames fields). Everything Tasks-specific lives here: replacing it means
 * replacing this file and the two lines in server.ts that call it.
 *
 * - A task-augmented `tools/call dispatch_task` creates the hub task, answers a CreateTaskResult
 *   (`working`) at once, and follows the hub task in the background; `tasks/get` mirrors its state,
 *   `tasks/result` answers the final task, `tasks/cancel` cancels the hub task too.
 * - A plain `tools/call dispatch_task` (no `task` param) still returns at once with the task id,
 *   exactly like the plain tool: the SDK would otherwise poll the MCP task to completion inside
 *   the call, which is the 60-second trap this server avoids.
 *
 * The store is per MCP server, and a server serves one credential (one stdio process, or one
 * HTTP session bound to the token that opened it), so tasks are bound to their auth context and
 * every hub read is the caller's own.
 */

/** How long the hub task is followed, and the MCP task kept, when the client asks for no TTL. */
export const TASK_TTL_DEFAULT_MS = 60 * 60_000;

/** The hub statuses an MCP task reports as `completed`; the other finished ones are `failed`/`cancelled`. */
function mcpStatusOf(hub: HubTask): Task["status"] {
  if (!isFinished(hub.status)) return "working";
  if (hub.status === "done") return "completed";
  if (hub.status === "cancelled") return "cancelled";
  // failed, or suspended into a continuation: the task did not produce its result here.
  return "failed";
}

/**
 * A task store that remembers which MCP tasks were asked for by the client (`params.task` on the
 * request) and which hub task each one follows, and cancels the hub task on `tasks/cancel`.
 */
class HubTaskStore extends InMemoryTaskStore {
  readonly augmented = new Set<string>();
  readonly hubTaskOf = new Map<string, string>();

  constructor(private readonly port: MeshPort) {
    super();
  }

  override async createTask(
    params: Parameters<InMemoryTaskStore["createTask"]>[0],
    requestId: RequestId,
    request: Request,
    sessionId?: string,
  ): Promise<Task> {
    const task = await super.createTask(params, requestId, request, sessionId);
    if (request.params && "task" in request.params && request.params.task) this.augmented.add(task.taskId);
    return task;
  }

  override async updateTaskStatus(
    taskId: string,
    status: Task["status"],
    statusMessage?: string,
    sessionId?: string,
  ): Promise<void> {
    const hubId = this.hubTaskOf.get(taskId);
    if (status === "cancelled" && hubId) {
      // The protocol layer already refused a terminal task; a hub refusal (it ended meanwhile) is
      // surfaced to the caller as the cancel's error.
      await this.port.cancelTask(hubId, "cancelled through MCP tasks/cancel");
    }
    await super.updateTaskStatus(taskId, status, statusMessage, sessionId);
  }
}

export interface TasksAdapterOptions {
  port: MeshPort;
  pollMs: number;
  log: (err: unknown) => void;
}

/** The store to pass as `taskStore` to the server, and the registration of `dispatch_task`. */
export function createTasksAdapter(options: TasksAdapterOptions) {
  const store = new HubTaskStore(options.port);
  const followers = new Set<AbortController>();

  function resultOf(output: DispatchResult): CallToolResult {
    return {
      content: [{ type: "text", text: JSON.stringify(output) }],
      structuredContent: output as unknown as Record<string, unknown>,
    };
  }

  /** Follows the hub task until it ends (or the TTL passes), mirroring it into the MCP task. */
  async function follow(taskId: string, hubId: string, ttlMs: number, sessionId?: string) {
    const controller = new AbortController();
    followers.add(controller);
    const until = Date.now() + ttlMs;
    let lastStatus = "";
    try {
      while (!controller.signal.aborted && Date.now() < until) {
        const mcpTask = await store.getTask(taskId, sessionId);
        if (!mcpTask || mcpTask.status === "cancelled") return;
        const hub = await options.port.getTask(hubId);
        const status = mcpStatusOf(hub);
        if (status !== "working") {
          const output = { task_id: hub.id, status: hub.status, task: hub };
          await store.storeTaskResult(
            taskId,
            status === "completed" ? "completed" : "failed",
            resultOf(output),
            sessionId,
          );
          return;
        }
        if (hub.status !== lastStatus) {
          lastStatus = hub.status;
          await store.updateTaskStatus(taskId, "working", `${hub.id} is ${hub.status}`, sessionId);
        }
        await new Promise((resolve) => setTimeout(resolve, options.pollMs));
      }
    } catch (err) {
      // The hub task could not be read (revoked token, hub gone): the MCP task fails with the
      // protocol error as its result rather than hanging in `working`.
      const task = await store.getTask(taskId, sessionId).catch(() => null);
      if (task && !["completed", "failed", "cancelled"].includes(task.status)) {
        await store
          .storeTaskResult(taskId, "failed", toolError(err, options.log), sessionId)
          .catch(options.log);
      }
    } finally {
      followers.delete(controller);
    }
  }

  function register(server: McpServer, def: ToolDef) {
    server.experimental.tasks.registerToolTask(
      def.name,
      {
        title: def.title,
        description: def.description,
        inputSchema: DispatchTaskInput,
        outputSchema: def.output,
        annotations: def.annotations,
        execution: { taskSupport: "optional" },
      },
      {
        createTask: async (args, extra) => {
          const ttl = extra.taskRequestedTtl ?? TASK_TTL_DEFAULT_MS;
          let output: DispatchResult;
          try {
            output = await dispatchTask(options.port, args as z.output<typeof DispatchTaskInput>);
          } catch (err) {
            // A refused dispatch is an MCP task that failed with the tool error as its result:
            // the plain call answers that result (protocol code in `_meta`), a task-augmented one
            // a `failed` task whose tasks/result carries it. Thrown instead, the SDK would make a
            // text-only tool error, which a task-augmented request then rejects as an "Invalid
            // task creation result", losing the code and message.
            const failed = await extra.taskStore.createTask({ ttl, pollInterval: options.pollMs });
            await extra.taskStore.storeTaskResult(failed.taskId, "failed", toolError(err, options.log));
            return { task: await extra.taskStore.getTask(failed.taskId) };
          }
          const task = await extra.taskStore.createTask({ ttl, pollInterval: options.pollMs });
          store.hubTaskOf.set(task.taskId, output.task_id);
          if (!store.augmented.has(task.taskId)) {
            // A plain call: answer the dispatch at once (see the note at the top).
            await extra.taskStore.storeTaskResult(task.taskId, "completed", resultOf(output));
            return { task: await extra.taskStore.getTask(task.taskId) };
          }
          void follow(task.taskId, output.task_id, ttl, extra.sessionId);
          return {
            task,
            _meta: {
              "io.modelcontextprotocol/model-immediate-response": `Dispatched ${output.task_id} (${output.status}).`,
            },
          };
        },
        getTask: async (_args, extra) => extra.taskStore.getTask(extra.taskId),
        getTaskResult: async (_args, extra) =>
          (await extra.taskStore.getTaskResult(extra.taskId)) as CallToolResult,
      },
    );
  }

  return {
    store,
    register,
    /** Stops following hub tasks (the server is closing). */
    close() {
      for (const controller of followers) controller.abort();
      store.cleanup();
    },
  };
}

export type TasksAdapter = ReturnType<typeof createTasksAdapter>;
