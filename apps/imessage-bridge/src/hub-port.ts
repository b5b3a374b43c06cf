/**
 * Everything the bridge needs from the hub, and nothing else. The rest of the bridge depends
 * only on this interface; `createHubPort` (hub-client.ts) implements it over `@m3shd/client`,
 * so no module here issues HTTP by hand.
 *
 * Contract for implementations:
 * - Methods that create something take `key`: the hub must dedupe on it (the inbound message
 *   GUID, or a key derived from it), because the bridge delivers at least once.
 * - Unreachable hub, 5xx and 429 → throw `RetryableError` (from ./deliverer); other refusals
 *   (4xx) → throw an Error whose message can be shown to the user.
 */
export interface HubTaskRef {
  id: string;
  status: string;
  title: string;
  assignedTo: string | null;
}

export interface HubTask extends HubTaskRef {
  output: string | null;
  error: string | null;
}

export interface CreateTaskInput {
  key: string;
  title: string;
  prompt: string;
  capability?: string;
  assignTo?: string;
  attachments?: { path: string; mime: string; bytes: number }[];
  parentIds?: string[];
}

export interface HubEvent {
  /** SSE event id, persisted and sent back as Last-Event-ID on reconnect. */
  id: string;
  type: string;
  taskId: string | null;
  /** `task_handoff`: the continuation that carries the task on. */
  continuationId?: string | null;
  /** `task_failed`: false while the task will be retried (it is requeued, not over). */
  final?: boolean;
}

export interface HubEventsOptions {
  /** Resume after this id (sent as Last-Event-ID); null: from now on. */
  lastEventId: string | null;
  signal: AbortSignal;
  /** Each time a connection opens (the first, and after every reconnect). */
  onOpen?: () => void;
  /**
   * The hub could not resume from the id (its replay buffer lost it, e.g. after a restart):
   * events may have been missed, so state must be re-read over the REST API.
   */
  onGap?: () => void;
}

export interface HubPort {
  status(): Promise<{ agents: { id: string; status: string }[]; tasks: Record<string, number> }>;
  listTasks(limit: number): Promise<HubTaskRef[]>;
  getTask(id: string): Promise<HubTask>;
  createTask(input: CreateTaskInput): Promise<HubTaskRef>;
  listContext(): Promise<{ key: string; value: string }[]>;
  setContext(key: string, value: string): Promise<void>;
  pendingApprovals(): Promise<{ id: string; title: string; taskId: string | null }[]>;
  decideApproval(id: string, decision: "approved" | "rejected", reason: string | null): Promise<void>;
  escalations(): Promise<{ id: string; title: string; status: string }[]>;
  costs(): Promise<{ totalUsd: number; byAgent: { agent: string; usd: number; tokens: number }[] }>;
  summary(): Promise<Record<string, number | string>>;
  budgets(): Promise<{ agent: string; dailyTokens: number | null; usedTokens: number }[]>;
  setBudget(agent: string, dailyTokens: number): Promise<void>;
  /**
   * Chat: free text to the mesh's conversational agent (a task whose output is the answer,
   * deduped on `key`), recorded in the hub's chat log on the chat's `imessage:` channel.
   */
  chat(input: {
    key: string;
    text: string;
    from: string;
    chatGuid: string;
    capability: string;
    attachments?: CreateTaskInput["attachments"];
  }): Promise<HubTaskRef>;
  /** A link to a task in the dashboard (for replies that are cut). */
  taskUrl(id: string): string;
  /**
   * The hub's task-outcome events from `lastEventId` (exclusive) on; reconnects with
   * Last-Event-ID until `signal` aborts. No polling.
   */
  events(options: HubEventsOptions): AsyncIterable<HubEvent>;
  /** For `doctor`: is the hub up, and is the token accepted (and for what)? */
  health(): Promise<{ ok: boolean; detail: string }>;
  whoami(): Promise<{ ok: boolean; detail: string }>;
}
