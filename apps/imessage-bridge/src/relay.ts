import type { HubEvent, HubPort, HubTask } from "./hub-port";
import { parsePlan } from "./router";
import type { BridgeState } from "./state";

const FINAL = new Set(["task_completed", "task_failed", "task_cancelled"]);

export interface RelayOptions {
  /** Queues one reply (a database write; runs inside a transaction) … */
  reply: (chatGuid: string, text: string, link: string | null) => void;
  /** … and wakes the sender afterwards. */
  flush: () => void;
  /** Capability for the parallel subtasks of `auto`. */
  subtaskCapability: string;
  now?: () => number;
  onError?: (err: unknown) => void;
}

/**
 * Hub → iMessage: follows the hub's SSE stream (resuming from the persisted Last-Event-ID)
 * and answers for the tasks the bridge created. A task's final reply is claimed and queued in
 * one transaction, so a replayed event (after a reconnect or a restart) never answers twice.
 */
export class Relay {
  private abort = new AbortController();
  private loop: Promise<void> | null = null;

  constructor(
    private readonly hub: HubPort,
    private readonly state: BridgeState,
    private readonly options: RelayOptions,
  ) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  start(): void {
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => {});
  }

  private async run(signal: AbortSignal): Promise<void> {
    await this.reconcile().catch((err) => this.options.onError?.(err));
    while (!signal.aborted) {
      try {
        for await (const ev of this.hub.events(this.state.get("last_event_id"), signal)) {
          await this.onEvent(ev);
          this.state.set("last_event_id", ev.id);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.options.onError?.(err);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** At start: watched tasks that finished while the bridge was away get their reply now. */
  async reconcile(): Promise<void> {
    const rows = this.state.db.prepare("SELECT task_id AS id FROM watched_tasks").all() as { id: string }[];
    for (const { id } of rows) {
      const task = await this.hub.getTask(id);
      if (["done", "failed", "cancelled"].includes(task.status)) await this.finish(task);
    }
  }

  private async onEvent(ev: HubEvent): Promise<void> {
    if (!ev.taskId || !FINAL.has(ev.type)) return;
    if (!this.state.watchedTask(ev.taskId)) return;
    await this.finish(await this.hub.getTask(ev.taskId));
  }

  private async finish(task: HubTask): Promise<void> {
    const watched = this.state.watchedTask(task.id);
    if (!watched) return;
    const link = this.hub.taskUrl(task.id);
    if (watched.kind === "auto_plan" && task.status === "done") {
      await this.dispatchPlan(task, watched.chatGuid, link);
      return;
    }
    const text =
      task.status === "done"
        ? `${watched.kind.startsWith("auto_sub") ? `✓ ${task.title}: ` : ""}${task.output ?? "(no output)"}`
        : `✗ ${task.title} ${task.status}: ${task.error ?? "no reason given"}`;
    this.claimAndReply(task.id, watched.chatGuid, text, link);
  }

  /** `auto`: the planner answered; dispatch its 2–5 subtasks in parallel and reply with the plan. */
  private async dispatchPlan(plan: HubTask, chatGuid: string, link: string): Promise<void> {
    const items = parsePlan(plan.output ?? "");
    if (!items) {
      this.claimAndReply(
        plan.id,
        chatGuid,
        `The planner did not return 2–5 subtasks:\n${plan.output ?? ""}`,
        link,
      );
      return;
    }
    // Keys derive from the plan task: a replay re-creates nothing.
    const subs = await Promise.all(
      items.map((it, i) =>
        this.hub.createTask({
          key: `${plan.id}:sub:${i}`,
          title: it.title,
          prompt: it.prompt,
          capability: this.options.subtaskCapability,
          parentIds: [],
        }),
      ),
    );
    const text = [`Split into ${subs.length} subtasks, running in parallel:`]
      .concat(subs.map((s, i) => `${i + 1}. ${items[i]?.title ?? s.title} (${s.id})`))
      .join("\n");
    this.state.db.transaction(() => {
      if (!this.state.unwatchTask(plan.id)) return;
      for (const s of subs) this.state.watchTask(s.id, chatGuid, `auto_sub:${plan.id}`, this.now());
      this.options.reply(chatGuid, text, link);
    })();
    this.options.flush();
  }

  private claimAndReply(taskId: string, chatGuid: string, text: string, link: string): void {
    this.state.db.transaction(() => {
      if (this.state.unwatchTask(taskId)) this.options.reply(chatGuid, text, link);
    })();
    this.options.flush();
  }
}
