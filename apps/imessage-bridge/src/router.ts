import { type Command, parseCommand } from "./commands";
import type { HandleResult } from "./deliverer";
import type { HubPort, HubTaskRef } from "./hub-port";
import type { BridgeState, InboundMessage } from "./state";

export interface RouterOptions {
  /** Capability for `do <text>` tasks. */
  doCapability: string;
  /** Capability of the model-backed agent that decomposes `auto <goal>`. */
  planCapability: string;
  /** Capability for anything-else chat. */
  chatCapability: string;
  now?: () => number;
  /** After a task is watched (the relay answers at once if it already ended). */
  onWatch?: (task: HubTaskRef) => void;
}

/** Words the planner is asked to answer with; parsed leniently by `parsePlan`. */
export function plannerPrompt(goal: string): string {
  return [
    "Split the goal below into 2 to 5 independent subtasks that can run in parallel.",
    'Answer with JSON only: [{"title": "...", "prompt": "..."}, ...].',
    "",
    `Goal: ${goal}`,
  ].join("\n");
}

/** Reads a planner's answer: a JSON array (possibly fenced), else numbered/bulleted lines. 2–5 items. */
export function parsePlan(output: string): { title: string; prompt: string }[] | null {
  const json = output.match(/\[[\s\S]*\]/)?.[0];
  let items: { title: string; prompt: string }[] = [];
  if (json) {
    try {
      const parsed: unknown = JSON.parse(json);
      if (Array.isArray(parsed)) {
        items = parsed.flatMap((p) => {
          if (typeof p === "string" && p.trim()) return [{ title: p.trim().slice(0, 200), prompt: p.trim() }];
          if (p && typeof p === "object") {
            const o = p as { title?: unknown; prompt?: unknown };
            const title = typeof o.title === "string" ? o.title.trim() : "";
            const prompt = typeof o.prompt === "string" ? o.prompt.trim() : title;
            return title || prompt
              ? [{ title: (title || prompt).slice(0, 200), prompt: prompt || title }]
              : [];
          }
          return [];
        });
      }
    } catch {
      items = [];
    }
  }
  if (items.length === 0) {
    items = output
      .split("\n")
      .map((l) => l.match(/^\s*(?:\d+[.)]|[-*•])\s+(.+)$/)?.[1]?.trim())
      .filter((l): l is string => !!l)
      .map((l) => ({ title: l.slice(0, 200), prompt: l }));
  }
  if (items.length < 2) return null;
  return items.slice(0, 5);
}

function title(text: string): string {
  const line = text.split("\n")[0] ?? "";
  return line.length > 80 ? `${line.slice(0, 79)}…` : line || "(no text)";
}

/**
 * Executes one inbound message against the hub and words the replies. Every hub call that
 * creates something carries a key derived from the message GUID, so a redelivery (after a
 * timeout, a crash, a hub restart) creates nothing twice.
 */
export class Router {
  constructor(
    private readonly hub: HubPort,
    private readonly state: BridgeState,
    private readonly options: RouterOptions,
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  async handle(message: InboundMessage): Promise<HandleResult> {
    const replies: string[] = [];
    for (const r of message.refused) replies.push(`Not attached: ${r.name} — ${r.reason}.`);
    const cmd = parseCommand(message.text);
    const reply = await this.run(cmd, message);
    if (reply !== null) replies.push(reply);
    return { replies };
  }

  private watch(task: HubTaskRef, message: InboundMessage, kind: string): HubTaskRef {
    this.state.watchTask(task.id, message.chatGuid, kind, this.now());
    this.options.onWatch?.(task);
    return task;
  }

  private async run(cmd: Command, m: InboundMessage): Promise<string | null> {
    const hub = this.hub;
    const attachments = m.attachments.length ? { attachments: m.attachments } : {};
    switch (cmd.kind) {
      case "status": {
        const s = await hub.status();
        const online = s.agents.filter((a) => a.status !== "offline").length;
        const tasks = Object.entries(s.tasks)
          .filter(([, n]) => n > 0)
          .map(([k, n]) => `${k} ${n}`)
          .join(", ");
        return `Agents: ${online}/${s.agents.length} online. Tasks today: ${tasks || "none"}.`;
      }
      case "tasks": {
        const list = await hub.listTasks(10);
        if (list.length === 0) return "No tasks.";
        return list
          .map((t) => `${t.id} [${t.status}] ${t.title}${t.assignedTo ? ` @${t.assignedTo}` : ""}`)
          .join("\n");
      }
      case "context_get": {
        const entries = await hub.listContext();
        return entries.length ? entries.map((e) => `${e.key} = ${e.value}`).join("\n") : "No shared context.";
      }
      case "context_set":
        await hub.setContext(cmd.key, cmd.value);
        return `Set ${cmd.key} = ${cmd.value}`;
      case "agent": {
        const t = await hub.createTask({
          key: m.guid,
          title: title(cmd.text),
          prompt: cmd.text,
          assignTo: cmd.agent,
          ...attachments,
        });
        this.watch(t, m, "reply");
        return `Sent to @${cmd.agent}: ${t.id} (${t.status}).`;
      }
      case "approve":
      case "reject": {
        let id = cmd.id;
        if (!id) {
          const pending = await hub.pendingApprovals();
          if (pending.length === 0) return "Nothing is waiting for approval.";
          if (pending.length > 1)
            return `${pending.length} approvals are pending; say which: ${pending.map((p) => p.id).join(", ")}`;
          id = pending[0]?.id ?? null;
        }
        if (!id) return "Nothing is waiting for approval.";
        const reason = cmd.kind === "reject" ? cmd.reason : null;
        await hub.decideApproval(id, cmd.kind === "approve" ? "approved" : "rejected", reason);
        return `${cmd.kind === "approve" ? "Approved" : "Rejected"} ${id}.`;
      }
      case "pending": {
        const p = await hub.pendingApprovals();
        return p.length ? p.map((a) => `${a.id}: ${a.title}`).join("\n") : "Nothing is waiting for approval.";
      }
      case "costs": {
        const c = await hub.costs();
        const lines = c.byAgent.map((a) => `@${a.agent}: $${a.usd.toFixed(4)} (${a.tokens} tokens)`);
        return [`Today: $${c.totalUsd.toFixed(4)}`, ...lines].join("\n");
      }
      case "escalations": {
        const e = await hub.escalations();
        return e.length
          ? e.map((x) => `${x.id} [${x.status}] ${x.title}`).join("\n")
          : "No open escalations.";
      }
      case "do": {
        const t = await hub.createTask({
          key: m.guid,
          title: title(cmd.text),
          prompt: cmd.text,
          capability: this.options.doCapability,
          ...attachments,
        });
        this.watch(t, m, "reply");
        return `Queued ${t.id}.`;
      }
      case "auto": {
        const t = await hub.createTask({
          key: m.guid,
          title: `Plan: ${title(cmd.goal)}`,
          prompt: plannerPrompt(cmd.goal),
          capability: this.options.planCapability,
          ...attachments,
        });
        this.watch(t, m, "auto_plan");
        return `Planning "${title(cmd.goal)}" (${t.id}).`;
      }
      case "summary": {
        const s = await hub.summary();
        return Object.entries(s)
          .map(([k, v]) => `${k}: ${v}`)
          .join("\n");
      }
      case "budget": {
        const b = await hub.budgets();
        if (b.length === 0) return "No agents.";
        return b
          .map(
            (x) =>
              `@${x.agent}: ${x.usedTokens} used${x.dailyTokens === null ? " (no limit)" : ` of ${x.dailyTokens}/day`}`,
          )
          .join("\n");
      }
      case "budget_set":
        await hub.setBudget(cmd.agent, cmd.tokens);
        return `Budget for @${cmd.agent}: ${cmd.tokens} tokens/day.`;
      case "chat": {
        const t = await hub.chat({
          key: m.guid,
          text: cmd.text || "(empty)",
          from: m.handle,
          chatGuid: m.chatGuid,
          capability: this.options.chatCapability,
          ...attachments,
        });
        this.watch(t, m, "reply");
        return null; // the answer itself is the reply
      }
    }
  }
}
