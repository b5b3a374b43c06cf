import type { HubEvent, HubPort, HubTask, HubTaskRef } from "./hub-port";
import { parsePlan } from "./router";
import type { BridgeState } from "./state";

/** Task statuses after which nothing more happens to a task (`suspended` hands off instead). */
const TERMINAL = new Set(["done", "failed", "cancelled"]);
/** Finished tasks seen on the stream before anyone watched them, remembered this many deep. */
const RECENT_LIMIT = 1000;

export interface RelayOptions {
  /** Queues one reply (a database write; runs inside a transaction) … */
  reply: (chatGuid: string, text: string, link: string | null) => void;
  /** … and wakes the sender afterwards. */
  flush: () => void;
  /** Capability for the parallel subtasks of `auto`. */
  subtaskCapability: string;
  now?: () => number;
  onError?: (err: unknown) => void;
  /** Each full re-read of the watched tasks (at every (re)connect and every gap), for tests and logs. */
  onReconcile?: (reason: "open" | "gap", watched: number) => void;
}

function isNotFound(err: unknown): boolean {
  return (err as { status?: unknown } | null)?.status === 404;
}

/**
 * Hub → iMessage: follows the hub's SSE stream (resuming from the persisted Last-Event-ID)
 * and answers for the tasks the bridge created. A task's final reply is claimed and queued in
 * one transaction, so a replayed event (after a reconnect or a restart) never answers twice.
 *
 * Nothing is polled. What the stream cannot replay — events from before the bridge subscribed,
 * or lost with a restarted hub's in-memory replay buffer (a `: gap`) — is caught by re-reading
 * the watched tasks over the REST API each time a connection opens, after it is open, so no
 * event can fall between the re-read and the stream.
 */
export class Relay {
  private abort = new AbortController();
  private loop: Promise<void> | null = null;
  /** Event handling and re-reads run one at a time, in order. */
  private chain: Promise<void> = Promise.resolve();
  private reconcileQueued = false;
  /** Tasks that ended before they were watched (the creating call's answer was slower than the event). */
  private readonly recentlyEnded = new Set<string>();

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
    this.state.pruneAnswered(this.now());
    this.loop = this.run(this.abort.signal);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop?.catch(() => {});
    await this.chain;
  }

  /** Resolves when every queued event and re-read has been handled. */
  async settled(): Promise<void> {
    let last: Promise<void> | null = null;
    while (last !== this.chain) {
      last = this.chain;
      await last;
    }
  }

  private enqueue(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn).catch((err: unknown) => this.options.onError?.(err));
    this.chain = next;
    return next;
  }

  /**
   * The router calls this after it starts watching a task: if the task already ended — its
   * event came first and was not ours yet, or a redelivered message got back a task that ended
   * long ago (after this process's re-read) — answer now.
   */
  watched(task: Pick<HubTaskRef, "id" | "status">): void {
    const seen = this.recentlyEnded.delete(task.id);
    if (!seen && !TERMINAL.has(task.status)) return;
    void this.enqueue(async () => {
      const fresh = await this.hub.getTask(task.id);
      if (TERMINAL.has(fresh.status)) await this.finish(fresh);
    });
  }

  private scheduleReconcile(reason: "open" | "gap"): void {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    void this.enqueue(async () => {
      this.reconcileQueued = false;
      await this.reconcile(reason);
    });
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const events = this.hub.events({
          lastEventId: this.state.get("last_event_id"),
          signal,
          onOpen: () => {
            failures = 0;
            this.scheduleReconcile("open");
          },
          onGap: () => this.scheduleReconcile("gap"),
        });
        for await (const ev of events) {
          await this.enqueue(() => this.onEvent(ev));
          this.state.set("last_event_id", ev.id);
        }
      } catch (err) {
        if (signal.aborted) return;
        this.options.onError?.(err);
        // Only errors reconnecting cannot fix end up here (a refused token): back off, up to 30 s.
        failures++;
        await new Promise((r) => setTimeout(r, Math.min(30_000, 500 * 2 ** failures)));
      }
    }
  }

  /** Watched tasks that ended while nobody was listening get their reply now. */
  async reconcile(reason: "open" | "gap" = "open"): Promise<void> {
    const ids = this.state.watchedTaskIds();
    this.options.onReconcile?.(reason, ids.length);
    for (const id of ids) {
      let task: HubTask;
      try {
        task = await this.hub.getTask(id);
      } catch (err) {
        // The hub no longer knows the task (a rebuilt hub): stop waiting for it.
        if (isNotFound(err)) this.state.unwatchTask(id, this.now());
        else throw err;
        continue;
      }
      if (TERMINAL.has(task.status)) await this.finish(task);
    }
  }

  private async onEvent(ev: HubEvent): Promise<void> {
    if (!ev.taskId) return;
    if (ev.type === "task_handoff") {
      if (ev.continuationId) this.state.transferWatch(ev.taskId, ev.continuationId, this.now());
      return;
    }
    // A failed attempt with attempts left is requeued, not over.
    if (ev.type === "task_failed" && ev.final === false) return;
    if (!this.state.watchedTask(ev.taskId)) {
      this.recentlyEnded.add(ev.taskId);
      if (this.recentlyEnded.size > RECENT_LIMIT) {
        const oldest = this.recentlyEnded.values().next().value;
        if (oldest !== undefined) this.recentlyEnded.delete(oldest);
      }
      return;
    }
    const task = await this.hub.getTask(ev.taskId);
    if (TERMINAL.has(task.status)) await this.finish(task);
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
        }),
      ),
    );
    const text = [`Split into ${subs.length} subtasks, running in parallel:`]
      .concat(subs.map((s, i) => `${i + 1}. ${items[i]?.title ?? s.title} (${s.id})`))
      .join("\n");
    this.state.db.transaction(() => {
      if (!this.state.unwatchTask(plan.id, this.now())) return;
      for (const s of subs) this.state.watchTask(s.id, chatGuid, `auto_sub:${plan.id}`, this.now());
      this.options.reply(chatGuid, text, link);
    })();
    this.options.flush();
    // A subtask may have ended before it was watched.
    for (const s of subs) this.watched(s);
  }

  private claimAndReply(taskId: string, chatGuid: string, text: string, link: string): void {
    this.state.db.transaction(() => {
      if (this.state.unwatchTask(taskId, this.now())) this.options.reply(chatGuid, text, link);
    })();
    this.options.flush();
  }
}
