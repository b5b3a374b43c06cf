import { createHash } from "node:crypto";
import { createClient, type FetchLike, isHubError, isTransientError } from "@m3shd/client";
import type { MeshEvent, MeshEventType, Permission, Task } from "@m3shd/protocol";
import { RetryableError } from "./deliverer";
import type { HubEvent, HubEventsOptions, HubPort, HubTask, HubTaskRef } from "./hub-port";

export interface HubClientConfig {
  baseUrl: string;
  token: string | undefined;
  /** Per-request budget (default 15 s). */
  timeoutMs?: number;
  /** Ceiling of the event stream's reconnect backoff (default 15 s). */
  reconnectMaxMs?: number;
  /** Reconnect when the hub sends nothing, not even a keepalive, for this long (default 90 s). */
  idleTimeoutMs?: number;
  /** Capability used for `@<agent>` when the agent does not serve the `do` capability. */
  preferredCapability?: string;
  fetch?: FetchLike;
  /** Something went wrong that does not fail the command (e.g. the chat log entry was not written). */
  onWarn?: (msg: string, err: unknown) => void;
}

/** The only events the relay acts on: a task's outcome, or its handoff to a continuation. */
const OUTCOME_EVENTS: readonly MeshEventType[] = [
  "task_completed",
  "task_failed",
  "task_cancelled",
  "task_handoff",
];

/**
 * What the bridge's commands need from a token. `tasks:*` is the core (do, auto, @agent, chat,
 * the reply stream); without the rest some commands are refused by the hub, each with a reason.
 */
const CORE_PERMISSIONS: readonly Permission[] = ["tasks:read", "tasks:write"];
const COMMAND_PERMISSIONS: readonly [Permission, string][] = [
  ["agents:read", "status, escalations, budget"],
  ["agents:write", "approve, reject"],
  ["agents:admin", "budget <agent> <tokens>"],
  ["admin:analytics", "status, costs, summary"],
  ["memory:read", "@context"],
  ["memory:write", "@context key=val"],
  ["messages:write", "the chat log"],
];

/** The hub refused a request (a 4xx other than 401): its message is fit to show the sender. */
export class HubRefusal extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "HubRefusal";
  }
}

/** The hub's idempotency keys are ≤ 200 printable ASCII characters; anything else is hashed. */
export function idempotencyKey(key: string): string {
  return /^[\x21-\x7e]{1,200}$/.test(key) ? key : `sha256:${createHash("sha256").update(key).digest("hex")}`;
}

/** The hub chat channel of an iMessage chat: `imessage:<chat identifier>`, within the channel alphabet. */
export function chatChannel(chatGuid: string): string {
  const identifier = chatGuid.split(";").at(-1) ?? chatGuid;
  const safe = identifier.toLowerCase().replace(/[^a-z0-9_.:+-]/g, "_");
  return `imessage:${safe}`.slice(0, 64);
}

/** JSON context values are shown as text: strings as they are, the rest as JSON. */
function showValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function ref(task: Task): HubTaskRef {
  return { id: task.id, status: task.status, title: task.title, assignedTo: task.assigned_to };
}

/**
 * Maps the client's errors onto the port's contract: what may work later (the hub unreachable,
 * 5xx, 429, 408, and 401 — a token the operator has yet to fix, so messages wait instead of
 * being answered with an error) is a `RetryableError`; any other refusal keeps the hub's own
 * message, which the sender is shown.
 */
function translate(err: unknown): unknown {
  if (isTransientError(err) || (isHubError(err) && err.status === 401)) {
    return new RetryableError(err instanceof Error ? err.message : String(err), { cause: err });
  }
  if (isHubError(err)) {
    // The hub's own words, without the "METHOD /path: status" the client puts in front.
    const prefix = `${err.request}: ${err.status} `;
    const message = err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message;
    return new HubRefusal(message, err.status, err.code, { cause: err });
  }
  return err;
}

async function call<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw translate(err);
  }
}

function toHubEvent(e: MeshEvent): HubEvent | null {
  switch (e.type) {
    case "task_completed":
    case "task_cancelled":
      return { id: e.id, type: e.type, taskId: e.data.task_id };
    case "task_failed":
      return { id: e.id, type: e.type, taskId: e.data.task_id, final: e.data.final };
    case "task_handoff":
      return { id: e.id, type: e.type, taskId: e.data.task_id, continuationId: e.data.continuation_id };
    default:
      return null;
  }
}

/** The HubPort over `@m3shd/client`: every hub call is one typed call of its route descriptor. */
export function createHubPort(config: HubClientConfig): HubPort {
  const client = createClient({
    baseUrl: config.baseUrl,
    token: config.token,
    timeoutMs: config.timeoutMs ?? 15_000,
    // The bridge's own retry queue is the long-haul retry; the client only smooths blips.
    retry: { retries: 1 },
    ...(config.fetch ? { fetch: config.fetch } : {}),
  });
  const base = client.baseUrl;
  const preferred = config.preferredCapability ?? "general";

  /** `@<agent>`: a task needs a capability, and the dispatcher honours `assign_to` only for one the agent serves. */
  async function capabilityOf(agent: string): Promise<string> {
    const { body } = await client.agents.get({ params: { id: agent } });
    const caps = body.agent.capabilities;
    return caps.includes(preferred) ? preferred : (caps[0] ?? preferred);
  }

  async function create(
    input: Parameters<HubPort["createTask"]>[0],
  ): Promise<{ task: Task; fresh: boolean }> {
    const capability = input.capability ?? (input.assignTo ? await capabilityOf(input.assignTo) : preferred);
    // The hub has no attachment store: the checked images are named in the prompt (path, type,
    // size) for an agent on this Mac to open.
    const prompt = input.attachments?.length
      ? `${input.prompt}\n\nAttached images (on the operator's Mac):\n${input.attachments
          .map((a) => `- ${a.path} (${a.mime}, ${a.bytes} bytes)`)
          .join("\n")}`
      : input.prompt;
    const res = await client.tasks.create({
      body: {
        title: input.title,
        prompt,
        required_capability: capability,
        ...(input.assignTo ? { assign_to: input.assignTo } : {}),
        ...(input.parentIds?.length ? { depends_on: input.parentIds } : {}),
        idempotency_key: idempotencyKey(input.key),
      },
      // Safe to resend after a lost answer: the hub dedupes on the idempotency key.
      idempotent: true,
    });
    return { task: res.body.task, fresh: res.status === 201 };
  }

  return {
    status: () =>
      call(async () => {
        const [agents, tasks] = await Promise.all([
          client.agents.list(),
          client.analytics.tasks({ query: { days: 1 } }),
        ]);
        return {
          agents: agents.body.agents.map((a) => ({ id: a.id, status: a.status })),
          tasks: tasks.body.by_status,
        };
      }),

    listTasks: (limit) =>
      call(async () => (await client.tasks.list({ query: { limit } })).body.tasks.map(ref)),

    getTask: (id) =>
      call(async (): Promise<HubTask> => {
        const { task } = (await client.tasks.get({ params: { id } })).body;
        return { ...ref(task), output: task.output, error: task.error };
      }),

    createTask: (input) => call(async () => ref((await create(input)).task)),

    listContext: () =>
      call(async () =>
        (await client.context.list({ query: { limit: 100 } })).body.entries.map((e) => ({
          key: e.key,
          value: showValue(e.value),
        })),
      ),

    setContext: (key, value) =>
      call(async () => {
        await client.context.put({ params: { key }, body: { value } });
      }),

    pendingApprovals: () =>
      call(async () =>
        (await client.approvals.list({ query: { status: "pending" } })).body.approvals.map((a) => ({
          id: a.id,
          title: `@${a.agent_id} ${a.action}${a.description ? `: ${a.description}` : ""}`,
          taskId: a.task_id,
        })),
      ),

    decideApproval: (id, decision, reason) =>
      call(async () => {
        try {
          await client.approvals.decide({
            params: { id },
            body: { decision, ...(reason ? { reason } : {}) },
          });
        } catch (err) {
          // A redelivered "approve" whose first answer was lost: the hub says 409 (no longer
          // pending). If it holds our decision, the command did what it was asked to.
          if (isHubError(err) && err.status === 409) {
            const { approval } = (await client.approvals.get({ params: { id } })).body;
            if (approval.status === decision) return;
          }
          throw err;
        }
      }),

    escalations: () =>
      call(async () =>
        (await client.escalations.list({ query: { status: "open" } })).body.escalations.map((e) => ({
          id: e.id,
          title: `@${e.agent_id}: ${e.reason}`,
          status: e.status,
        })),
      ),

    costs: () =>
      call(async () => {
        const c = (await client.analytics.costs({ query: { days: 1 } })).body;
        return {
          totalUsd: c.total.cost_usd,
          byAgent: c.by_agent.map((a) => ({
            agent: a.agent_id,
            usd: a.cost_usd,
            tokens: a.input_tokens + a.output_tokens,
          })),
        };
      }),

    summary: () =>
      call(async () => {
        const s = (await client.analytics.summary({ query: { days: 1 } })).body;
        return {
          tasks: s.tasks.total,
          done: s.tasks.done,
          failed: s.tasks.failed,
          "success rate":
            s.tasks.success_rate === null ? "n/a" : `${Math.round(s.tasks.success_rate * 100)}%`,
          "cost (USD)": Number(s.costs.cost_usd.toFixed(4)),
          tokens: s.costs.input_tokens + s.costs.output_tokens,
          "agents online": `${s.agents.online + s.agents.busy}/${s.agents.total}`,
          "open escalations": s.open_escalations,
          "pending approvals": s.pending_approvals,
        };
      }),

    budgets: () =>
      call(async () => {
        const { agents } = (await client.agents.list()).body;
        return Promise.all(
          agents.map(async (a) => {
            const { settings } = (await client.agents.settings({ params: { id: a.id } })).body;
            return {
              agent: a.id,
              dailyTokens: settings.effective_daily_token_cap,
              usedTokens: settings.tokens_today,
            };
          }),
        );
      }),

    setBudget: (agent, dailyTokens) =>
      call(async () => {
        await client.agents.updateSettings({ params: { id: agent }, body: { daily_token_cap: dailyTokens } });
      }),

    chat: ({ key, text, from, chatGuid, capability, attachments }) =>
      call(async () => {
        const { task, fresh } = await create({
          key,
          title: `Chat: ${text.split("\n")[0]?.slice(0, 70) || "(empty)"}`,
          prompt: text,
          capability,
          ...(attachments ? { attachments } : {}),
        });
        // The chat log line is written once, with the task's first creation: a redelivery (200)
        // does not post it again. It is a record, not the answer, so failing it fails nothing.
        if (fresh) {
          await client.messages
            .create({ body: { channel: chatChannel(chatGuid), content: text } })
            .catch((err: unknown) => config.onWarn?.(`chat log entry from ${from} not written`, err));
        }
        return ref(task);
      }),

    taskUrl: (id) => `${base}/#/tasks/${encodeURIComponent(id)}`,

    async *events(options: HubEventsOptions): AsyncIterable<HubEvent> {
      const stream = client.events({
        types: OUTCOME_EVENTS,
        ...(options.lastEventId ? { lastEventId: options.lastEventId } : {}),
        signal: options.signal,
        reconnect: { baseDelayMs: 250, maxDelayMs: config.reconnectMaxMs ?? 15_000 },
        ...(config.idleTimeoutMs ? { idleTimeoutMs: config.idleTimeoutMs } : {}),
        onStateChange: (state) => {
          if (state === "open") options.onOpen?.();
        },
        onGap: () => options.onGap?.(),
      });
      try {
        for await (const e of stream) {
          const ev = toHubEvent(e);
          if (ev) yield ev;
        }
      } catch (err) {
        throw translate(err);
      } finally {
        stream.close();
      }
    },

    health: async () => {
      try {
        const { status, body } = await client.health.get({ retry: false });
        return {
          ok: status === 200,
          detail: `${base}: ${body.status} (version ${body.version}, db ${body.db}, queue ${body.queue.driver})`,
        };
      } catch (err) {
        return { ok: false, detail: `${base}: ${err instanceof Error ? err.message : String(err)}` };
      }
    },

    whoami: async () => {
      try {
        const me = (await client.auth.me({ retry: false })).body;
        const missingCore = CORE_PERMISSIONS.filter((p) => !me.permissions.includes(p));
        const missing = COMMAND_PERMISSIONS.filter(([p]) => !me.permissions.includes(p));
        const who = `accepted as ${me.subject} (${me.kind})`;
        if (missingCore.length) {
          return { ok: false, detail: `${who}, but it lacks ${missingCore.join(", ")}` };
        }
        return {
          ok: true,
          detail: missing.length
            ? `${who}; without ${missing.map(([p, what]) => `${p} (${what})`).join(", ")}`
            : `${who}; every command is allowed`,
        };
      } catch (err) {
        const refused = isHubError(err) && err.status === 401;
        return {
          ok: false,
          detail: refused
            ? "the hub refused the token (401)"
            : `not checked: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
    },
  };
}
