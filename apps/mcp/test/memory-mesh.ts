import {
  type Agent,
  type Approval,
  type ContextEntry,
  type Message,
  PERMISSIONS,
  type Permission,
  type StreamChunk,
  SummaryAnalyticsSchema,
  TASK_STATUSES,
  type Task,
  TaskSchema,
  type Template,
  type WhoAmIResponse,
} from "@m3shd/protocol";
import type { MemoryEntry, MeshPort } from "../src/port";
import { MeshPortError } from "../src/port";

/*
 * An in-memory mesh behind the `MeshPort` interface, for the SDK-over-InMemoryTransport tests:
 * tokens with permission sets, tasks the test moves through their states, chunks, templates,
 * agents, approvals, context and memories. It enforces each operation's route permission the way
 * the hub does (401 unknown token, 403 missing permission), so the MCP layer's filtering and error
 * mapping are exercised against a refusing mesh. The real hub is covered by the e2e tests.
 */

const ROUTE_PERMISSION: Record<keyof MeshPort, Permission | "any"> = {
  whoAmI: "any",
  createTask: "tasks:write",
  getTask: "tasks:read",
  listTasks: "tasks:read",
  cancelTask: "tasks:write",
  listChunks: "tasks:read",
  createPipeline: "tasks:write",
  listTemplates: "tasks:read",
  dispatchTemplate: "tasks:write",
  listAgents: "agents:read",
  searchMemory: "memory:read",
  storeMemory: "memory:write",
  listApprovals: "tasks:read",
  decideApproval: "agents:write",
  getContext: "memory:read",
  setContext: "memory:write",
  sendMessage: "messages:write",
  getProvenance: "tasks:read",
  summary: "admin:analytics",
};

let counter = 0;
/** A ULID-shaped id (Crockford base32, 26 chars), unique in this process. */
function ulid(): string {
  counter += 1;
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  let n = counter;
  let tail = "";
  for (let i = 0; i < 10; i++) {
    tail = alphabet[n % 32] + tail;
    n = Math.floor(n / 32);
  }
  return `01J${"0".repeat(13)}${tail}`;
}

export class MemoryMesh {
  readonly tokens = new Map<string, WhoAmIResponse>();
  readonly tasks = new Map<string, Task>();
  readonly chunks = new Map<string, StreamChunk[]>();
  readonly templates: Template[] = [];
  readonly agents: Agent[] = [];
  readonly approvals: Approval[] = [];
  readonly context = new Map<string, ContextEntry>();
  readonly memories: MemoryEntry[] = [];
  readonly messages: Message[] = [];
  /** Every call, as `operation:subject`, so a test can prove what reached the mesh. */
  readonly calls: string[] = [];
  now = Date.UTC(2026, 11, 1, 12, 0, 0);

  constructor() {
    this.templates.push({
      id: `tpl_${ulid()}`,
      name: "Research",
      description: "Research a topic",
      prompt_template: "Research {topic}.",
      capability: "research",
      priority: 5,
      variables: ["topic"],
      created_by: "system",
      created_at: this.now,
      updated_at: this.now,
    });
    this.agents.push({
      id: "agent-1",
      name: "agent-1",
      machine: null,
      capabilities: ["research", "echo"],
      max_concurrent: 2,
      status: "online",
      active_tasks: 0,
      load_avg: null,
      provider: "jobs",
      model: null,
      breaker: { state: "closed", failures: 0, opened_at: null },
      last_seen_at: this.now,
      registered_at: this.now,
      meta: {},
    });
    this.approvals.push({
      id: `apr_${ulid()}`,
      agent_id: "agent-1",
      task_id: null,
      action: "deploy",
      description: "Deploy to prod",
      status: "pending",
      decided_by: null,
      decision_reason: null,
      created_at: this.now,
      expires_at: this.now + 3600_000,
      decided_at: null,
    });
  }

  /** Adds a token holding `permissions`. */
  token(token: string, permissions: readonly Permission[], subject = `key:${token}`): string {
    this.tokens.set(token, { kind: "api_key", subject, agent_id: null, permissions: [...permissions] });
    return token;
  }

  /**
   * Moves a task along as a worker would. Entering `running` is a claim, which opens the next
   * attempt (lease) unless the patch names one.
   */
  set(id: string, patch: Partial<Task>): Task {
    const task = this.mustTask(id);
    this.now += 1;
    const claim =
      patch.status === "running" && task.status !== "running"
        ? { attempt: task.attempt + 1, attempts: task.attempts + 1 }
        : {};
    const next = TaskSchema.parse({ ...task, ...claim, ...patch, updated_at: this.now });
    this.tasks.set(id, next);
    return next;
  }

  /** Streams a chunk from the task's current attempt; `seq` restarts at 0 on every attempt, as at the hub. */
  chunk(id: string, content: string): void {
    const attempt = Math.max(1, this.mustTask(id).attempt);
    const list = this.chunks.get(id) ?? [];
    list.push({ attempt, seq: list.filter((c) => c.attempt === attempt).length, content });
    this.chunks.set(id, list);
  }

  private mustTask(id: string): Task {
    const task = this.tasks.get(id);
    if (!task) throw new MeshPortError("not_found", `task ${id} not found`);
    return task;
  }

  private newTask(input: {
    title: string;
    prompt: string;
    required_capability: string;
    priority?: number | undefined;
    assign_to?: string | undefined;
    depends_on?: string[] | undefined;
  }): Task {
    const id = `task_${ulid()}`;
    const task = TaskSchema.parse({
      id,
      title: input.title,
      prompt: input.prompt,
      prompt_parts: { memory: null, parents: null, handoffs: [] },
      composed_prompt: input.prompt,
      required_capability: input.required_capability,
      priority: input.priority ?? 5,
      deadline: null,
      urgency: "low",
      status: input.depends_on?.length ? "waiting" : "queued",
      assign_to: input.assign_to ?? null,
      assigned_to: null,
      output: null,
      error: null,
      attempts: 0,
      attempt: 0,
      max_attempts: 3,
      confidence: null,
      depends_on: input.depends_on ?? [],
      model: null,
      usage: null,
      cost_usd: null,
      assignment: null,
      continuation_of: null,
      continued_by: null,
      partial_output: null,
      created_at: this.now,
      updated_at: this.now,
      assigned_at: null,
      started_at: null,
      completed_at: null,
    });
    this.tasks.set(id, task);
    return task;
  }

  /** The port as one token sees it: every call checks the token and the route's permission. */
  portFor(token: string): MeshPort {
    const guard = (op: keyof MeshPort) => {
      const who = this.tokens.get(token);
      if (!who) throw new MeshPortError("unauthorized", "Invalid or revoked token");
      const need = ROUTE_PERMISSION[op];
      if (need !== "any" && !who.permissions.includes(need)) {
        throw new MeshPortError("forbidden", `Missing permission ${need}`, { permission: need });
      }
      this.calls.push(`${op}:${who.subject}`);
    };
    const mesh = this;
    return {
      async whoAmI() {
        guard("whoAmI");
        return mesh.tokens.get(token) as WhoAmIResponse;
      },
      async createTask(input) {
        guard("createTask");
        return mesh.newTask(input);
      },
      async getTask(id) {
        guard("getTask");
        return mesh.mustTask(id);
      },
      async listTasks(input) {
        guard("listTasks");
        const all = [...mesh.tasks.values()]
          .reverse()
          .filter((t) => (input.status ? t.status === input.status : true));
        return { tasks: all.slice(0, input.limit ?? 50), next_cursor: null };
      },
      async cancelTask(id, reason) {
        guard("cancelTask");
        const task = mesh.mustTask(id);
        if (["done", "failed", "cancelled", "suspended"].includes(task.status)) {
          throw new MeshPortError(
            "illegal_transition",
            `Task ${id} is ${task.status}: it cannot be cancelled`,
          );
        }
        return mesh.set(id, { status: "cancelled", error: reason ?? null, completed_at: mesh.now });
      },
      async listChunks(id, { attempt, after = -1 } = {}) {
        guard("listChunks");
        mesh.mustTask(id);
        // As the hub: ordered by attempt then seq; `after` applies within each attempt listed.
        return (mesh.chunks.get(id) ?? [])
          .filter((c) => (attempt === undefined || c.attempt === attempt) && c.seq > after)
          .sort((a, b) => a.attempt - b.attempt || a.seq - b.seq);
      },
      async createPipeline(input) {
        guard("createPipeline");
        const steps = input.steps.map((step, i) => {
          const task = mesh.newTask({
            title: step.title ?? `step ${i + 1}`,
            prompt: step.prompt ?? "template",
            required_capability: step.required_capability ?? "research",
          });
          return { name: step.name ?? `step-${i + 1}`, task_id: task.id, task };
        });
        return {
          pipeline_id: `pipe_${ulid()}`,
          steps: steps.map(({ name, task_id }) => ({ name, task_id })),
          tasks: steps.map((s) => s.task),
        };
      },
      async listTemplates() {
        guard("listTemplates");
        return mesh.templates;
      },
      async dispatchTemplate(id, input) {
        guard("dispatchTemplate");
        const template = mesh.templates.find((t) => t.id === id);
        if (!template) throw new MeshPortError("not_found", `template ${id} not found`);
        const missing = template.variables.filter((v) => !input.variables?.[v]);
        if (missing.length)
          throw new MeshPortError("validation_failed", `Missing variables: ${missing.join(", ")}`);
        return mesh.newTask({
          title: input.title ?? template.name,
          prompt: template.prompt_template.replace(
            /\{(\w+)\}/g,
            (_, v: string) => input.variables?.[v] ?? "",
          ),
          required_capability: template.capability,
          priority: input.priority,
          assign_to: input.assign_to,
          depends_on: input.depends_on,
        });
      },
      async listAgents() {
        guard("listAgents");
        return mesh.agents;
      },
      async searchMemory(input) {
        guard("searchMemory");
        const hits = mesh.memories.filter(
          (m) => m.value.includes(input.q) && (input.agent_id === undefined || m.agent_id === input.agent_id),
        );
        return { results: hits.map((entry) => ({ entry, score: 1 })), terms: 1, strategy: "bm25" as const };
      },
      async storeMemory(input) {
        guard("storeMemory");
        const entry: MemoryEntry = {
          id: `mem_${ulid()}`,
          agent_id: input.agent_id,
          key: input.key,
          value: input.value,
          tags: input.tags ?? [],
          confidence: input.confidence ?? 1,
          source_task_id: input.source_task_id ?? null,
          created_at: mesh.now,
          updated_at: mesh.now,
        };
        mesh.memories.push(entry);
        return { entry, status: "created" as const };
      },
      async listApprovals(input) {
        guard("listApprovals");
        return {
          approvals: mesh.approvals.filter((a) => (input.status ? a.status === input.status : true)),
          next_cursor: null,
        };
      },
      async decideApproval(id, input) {
        guard("decideApproval");
        const approval = mesh.approvals.find((a) => a.id === id);
        if (!approval) throw new MeshPortError("not_found", `approval ${id} not found`);
        if (approval.status !== "pending")
          throw new MeshPortError("conflict", `Approval ${id} is ${approval.status}`);
        Object.assign(approval, {
          status: input.decision,
          decided_by: "operator",
          decision_reason: input.reason ?? null,
          decided_at: mesh.now,
        });
        return approval;
      },
      async getContext(key) {
        guard("getContext");
        const entry = mesh.context.get(key);
        if (!entry) throw new MeshPortError("not_found", `context ${key} not found`);
        return entry;
      },
      async setContext(key, value) {
        guard("setContext");
        const entry = { key, value: value as ContextEntry["value"], set_by: "master", updated_at: mesh.now };
        mesh.context.set(key, entry);
        return entry;
      },
      async sendMessage(input) {
        guard("sendMessage");
        const who = mesh.tokens.get(token) as WhoAmIResponse;
        if (input.reply_to !== undefined && !mesh.messages.some((m) => m.id === input.reply_to)) {
          throw new MeshPortError("not_found", `message ${input.reply_to} not found`);
        }
        const message: Message = {
          id: `msg_${ulid()}`,
          channel: input.channel ?? "general",
          from: who.agent_id ?? who.subject,
          content: input.content,
          reply_to: input.reply_to ?? null,
          created_at: mesh.now,
        };
        mesh.messages.push(message);
        return message;
      },
      async getProvenance(taskId) {
        guard("getProvenance");
        const task = mesh.mustTask(taskId);
        if (task.status !== "done") throw new MeshPortError("conflict", `Task ${taskId} has no result yet`);
        const hex = "a".repeat(64);
        return {
          task_id: taskId,
          chain: [
            {
              index: 0,
              task_id: taskId,
              agent_id: "agent-1",
              timestamp: mesh.now,
              output_sha256: hex,
              prev_hash: "0".repeat(64),
              hash: hex,
            },
          ],
          verdict: { ok: true, length: 1 },
          merkle: { leaf_index: 0, tree_size: 1, root: hex, proof: [] },
        };
      },
      async summary() {
        guard("summary");
        const byStatus = Object.fromEntries(TASK_STATUSES.map((status) => [status, 0]));
        for (const t of mesh.tasks.values()) byStatus[t.status] = (byStatus[t.status] ?? 0) + 1;
        return SummaryAnalyticsSchema.parse({
          days: 1,
          from: mesh.now - 86_400_000,
          to: mesh.now,
          tasks: {
            total: mesh.tasks.size,
            done: byStatus.done,
            failed: byStatus.failed,
            by_status: byStatus,
            success_rate: null,
          },
          costs: { calls: 0, input_tokens: 0, output_tokens: 0, cost_usd: 0, avg_cost_per_task_usd: 0 },
          agents: { total: 1, online: 1, busy: 0, offline: 0, avg_uptime_pct: null },
          open_escalations: 0,
          pending_approvals: mesh.approvals.filter((a) => a.status === "pending").length,
        });
      },
    };
  }
}

export const ALL_PERMISSIONS: readonly Permission[] = PERMISSIONS;
