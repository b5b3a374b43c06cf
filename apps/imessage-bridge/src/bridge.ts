import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Deliverer, RetryableError } from "./deliverer";
import { HandleFilter } from "./handles";
import type { HubPort } from "./hub-port";
import { Inbox, type InboxOptions } from "./inbox";
import { Outbox, type OutboxOptions } from "./outbox";
import { Relay } from "./relay";
import { Router, type RouterOptions } from "./router";
import { formatReply } from "./sender";
import { BridgeState } from "./state";

export interface BridgeConfig {
  chatDbPath: string;
  attachmentsRoot: string;
  dataDir: string;
  handles: string[];
  relayPrefix: string;
  pollMs: number;
  settleMs: number;
  sendsPerHour: number;
  startAt: "latest" | "beginning";
  router: RouterOptions;
  subtaskCapability: string;
  /** Test knobs (defaults suit a Mac). */
  inbox?: Partial<InboxOptions>;
  outbox?: Partial<OutboxOptions>;
  retry?: { baseBackoffMs?: number; maxBackoffMs?: number; maxAttempts?: number };
}

export interface BridgeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Wires inbox → retry queue → router → hub, and hub stream → relay → outbox → osascript. */
export function createBridge(deps: {
  config: BridgeConfig;
  hub: HubPort;
  logger: BridgeLogger;
  now?: () => number;
}) {
  const { config, hub, logger } = deps;
  const now = deps.now ?? Date.now;
  mkdirSync(config.dataDir, { recursive: true });
  const state = new BridgeState(join(config.dataDir, "bridge.db"));
  const fmt = (text: string, link: string | null) => formatReply(text, { prefix: config.relayPrefix, link });

  let outbox: Outbox | null = null;
  let deliverer: Deliverer | null = null;
  const inbox = new Inbox(state, {
    chatDbPath: config.chatDbPath,
    attachmentsRoot: config.attachmentsRoot,
    filter: new HandleFilter(config.handles),
    relayPrefix: config.relayPrefix,
    pollMs: config.pollMs,
    settleMs: config.settleMs,
    echoWindowMs: 10 * 60_000,
    stallMs: 15_000,
    startAt: config.startAt,
    now,
    onAccepted: (m) => {
      logger.info({ guid: m.guid, rowid: m.rowid }, "inbound accepted");
      deliverer?.kick();
    },
    onHealth: (a) => logger.error({ alert: a.kind, detail: a.detail }, "reader health alert"),
    ...config.inbox,
  });
  outbox = new Outbox(state, () => inbox.chatDb(), {
    perHour: config.sendsPerHour,
    readbackMs: 5000,
    readbackPollMs: 100,
    maxAttempts: 3,
    now,
    onError: (err) => logger.warn({ err: String(err) }, "send failed"),
    ...config.outbox,
  });
  const relay = new Relay(hub, state, {
    reply: (chat, text, link) => state.enqueueOutbound(chat, fmt(text, link), now()),
    flush: () => outbox?.kick(),
    subtaskCapability: config.subtaskCapability,
    now,
    onError: (err) => logger.warn({ err: String(err) }, "hub stream error"),
    onReconcile: (reason, watched) => logger.info({ reason, watched }, "re-read watched tasks"),
  });
  const router = new Router(hub, state, { ...config.router, now, onWatch: (task) => relay.watched(task) });
  deliverer = new Deliverer(state, {
    handle: (m) => router.handle(m),
    reply: (chat, text) => state.enqueueOutbound(chat, fmt(text, null), now()),
    onDelivered: (m) => {
      logger.info({ guid: m.guid, rowid: m.rowid }, "inbound delivered");
      outbox?.kick();
    },
    baseBackoffMs: config.retry?.baseBackoffMs ?? 1000,
    maxBackoffMs: config.retry?.maxBackoffMs ?? 60_000,
    maxAttempts: config.retry?.maxAttempts ?? 10_000,
    now,
    onError: (err, m) =>
      logger.warn(
        { guid: m.guid, retryable: err instanceof RetryableError, err: String(err) },
        "inbound not delivered",
      ),
  });

  return {
    state,
    inbox,
    outbox,
    deliverer,
    relay,
    start(): void {
      inbox.start();
      deliverer?.kick();
      outbox?.kick();
      relay.start();
      logger.info({ generation: inbox.chatDb().caps.generation, cursor: state.cursor() }, "bridge started");
    },
    async stop(): Promise<void> {
      await inbox.stop();
      await deliverer?.stop();
      await relay.stop();
      await outbox?.stop();
      state.close();
    },
  };
}
export type Bridge = ReturnType<typeof createBridge>;
