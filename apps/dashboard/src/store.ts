import type { MeshEvent, MeshEventType } from "@m3shd/protocol";
import { useEffect, useState } from "preact/hooks";
import { type ConnectionState, type EventSubscription, subscribeEvents } from "./api";
import type { Role } from "./roles";

/** Every event type the hub streams (mirrors the protocol's `EVENT_TYPES`; kept here so no zod code ships). */
export const EVENT_TYPES = [
  "task_created",
  "task_assigned",
  "task_started",
  "task_chunk",
  "task_completed",
  "task_failed",
  "task_handoff",
  "task_cancelled",
  "task_requeued",
  "task_urgency_changed",
  "agent_online",
  "agent_offline",
  "agent_busy",
  "agent_breaker",
  "provenance_appended",
  "subscriber_dropped",
  "message_created",
  "approval_requested",
  "approval_decided",
  "approval_expired",
  "escalation_created",
  "escalation_resolved",
  "plugin_invoked",
] as const satisfies readonly MeshEventType[];

export interface SessionUser {
  id: string;
  username: string;
  role: Role;
}

const USER_KEY = "m3shd.user";

/** The logged-in user, remembered for this tab so a reload keeps the session's role. */
export function loadUser(): SessionUser | null {
  try {
    const raw = sessionStorage.getItem(USER_KEY);
    return raw ? (JSON.parse(raw) as SessionUser) : null;
  } catch {
    return null;
  }
}

export function saveUser(user: SessionUser | null): void {
  if (user) sessionStorage.setItem(USER_KEY, JSON.stringify(user));
  else sessionStorage.removeItem(USER_KEY);
}

type Listener = (event: MeshEvent) => void;

/**
 * One SSE subscription for the whole app, fanned out to the views. Keeps the last 500 events for
 * the Logs view; views that show server state refresh from the REST API when an event concerns them.
 */
class EventBus {
  readonly log: MeshEvent[] = [];
  state: ConnectionState = "closed";
  gaps = 0;
  #seen = new Set<string>();
  #listeners = new Set<Listener>();
  #stateListeners = new Set<() => void>();
  #pollListeners = new Set<() => void>();
  #sub: EventSubscription | null = null;

  start(): void {
    if (this.#sub) return;
    this.#sub = subscribeEvents({
      onEvent: (e) => {
        // A resumed stream replays from Last-Event-ID: never show an event twice.
        if (this.#seen.has(e.id)) return;
        this.#seen.add(e.id);
        this.log.push(e);
        if (this.log.length > 500) {
          const old = this.log.shift();
          if (old) this.#seen.delete(old.id);
        }
        for (const l of this.#listeners) l(e);
      },
      onState: (s) => {
        this.state = s;
        for (const l of this.#stateListeners) l();
      },
      onGap: () => {
        this.gaps++;
        for (const l of this.#pollListeners) l();
      },
      onPoll: () => {
        for (const l of this.#pollListeners) l();
      },
    });
  }

  stop(): void {
    this.#sub?.close();
    this.#sub = null;
  }

  get lastEventId(): string | undefined {
    return this.#sub?.lastEventId;
  }

  get reconnects(): number {
    return this.#sub?.reconnects ?? 0;
  }

  on(l: Listener): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  onState(l: () => void): () => void {
    this.#stateListeners.add(l);
    return () => this.#stateListeners.delete(l);
  }

  /** Called when events may have been missed (polling fallback, replay gap): re-read state. */
  onPoll(l: () => void): () => void {
    this.#pollListeners.add(l);
    return () => this.#pollListeners.delete(l);
  }
}

export const bus = new EventBus();

/** Re-renders on connection state changes. */
export function useConnection(): {
  state: ConnectionState;
  reconnects: number;
  lastEventId: string | undefined;
} {
  const [, setTick] = useState(0);
  useEffect(() => bus.onState(() => setTick((t) => t + 1)), []);
  return { state: bus.state, reconnects: bus.reconnects, lastEventId: bus.lastEventId };
}

/**
 * Calls `refresh` now, again (debounced) whenever an event passes `match`, and on every poll
 * while the stream is down. Returns nothing: the view keeps its own state.
 */
export function useLiveRefresh(refresh: () => void, match: (e: MeshEvent) => boolean, deps: unknown[]): void {
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const schedule = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        refresh();
      }, 100);
    };
    refresh();
    const offEvent = bus.on((e) => {
      if (match(e)) schedule();
    });
    const offPoll = bus.onPoll(schedule);
    return () => {
      offEvent();
      offPoll();
      if (timer) clearTimeout(timer);
    };
  }, deps);
}
