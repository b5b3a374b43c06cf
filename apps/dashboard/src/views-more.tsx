import type { Approval, MeshEvent, Message } from "@m3shd/protocol";
import { useEffect, useState } from "preact/hooks";
import { api, type Escalation } from "./api";
import { can, type Role } from "./roles";
import { bus, EVENT_TYPES, useConnection, useLiveRefresh } from "./store";
import { ago, errorText } from "./views";

// --- Chat --------------------------------------------------------------------------------------

/** Sender kind, for colour: people are `user:<name>` or `operator`, anything else is an agent. */
function senderKind(from: string): "user" | "operator" | "agent" {
  if (from.startsWith("user:")) return "user";
  if (from === "operator" || from === "master") return "operator";
  return "agent";
}

export function ChatView({ role }: { role: Role }) {
  const [channel, setChannel] = useState("general");
  const [messages, setMessages] = useState<Message[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useLiveRefresh(
    () => {
      api
        .messages(channel)
        .then((r) => setMessages([...r.messages].reverse()))
        .catch((e) => setError(errorText(e)));
    },
    (e) => e.type === "message_created" && e.data.message.channel === channel,
    [channel],
  );
  const send = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const content = String(new FormData(form).get("content") ?? "").trim();
    if (!content) return;
    try {
      await api.postMessage(channel, content);
      form.reset();
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <section aria-labelledby="chat-h" data-testid="chat-view">
      <h1 id="chat-h">Chat</h1>
      <label>
        Channel
        <input
          value={channel}
          onChange={(e) => setChannel((e.target as HTMLInputElement).value.trim() || "general")}
          data-testid="chat-channel"
        />
      </label>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <ol class="chat" aria-live="polite" data-testid="chat-messages">
        {messages?.map((m) => (
          <li key={m.id} class={`msg from-${senderKind(m.from)}`} data-testid="chat-message">
            <span class="from">{m.from}</span> <span class="muted">{ago(m.created_at)}</span>
            <p>{m.content}</p>
          </li>
        ))}
      </ol>
      {can(role, "messages:write") && (
        <form onSubmit={send} class="row" aria-label="Send a message">
          <label class="grow">
            Message
            <input name="content" required maxLength={4000} data-testid="chat-input" />
          </label>
          <button type="submit" data-testid="chat-send">
            Send
          </button>
        </form>
      )}
    </section>
  );
}

// --- Logs --------------------------------------------------------------------------------------

export function LogsView() {
  const [filter, setFilter] = useState<string>("");
  const [, setTick] = useState(0);
  const conn = useConnection();
  useEffect(() => bus.on(() => setTick((t) => t + 1)), []);
  const rows = (filter ? bus.log.filter((e) => e.type === filter) : bus.log).slice(-200).reverse();
  return (
    <section aria-labelledby="logs-h" data-testid="logs-view">
      <h1 id="logs-h">Logs</h1>
      <p data-testid="logs-conn" data-state={conn.state}>
        Stream: <strong>{conn.state}</strong>
        {conn.state === "polling" && " — the event stream is blocked; state is re-read every 5 s"}
        {conn.reconnects > 0 && ` · resumed ${conn.reconnects} time(s) from the last event id`}
      </p>
      <label>
        Event type
        <select
          value={filter}
          onChange={(e) => setFilter((e.target as HTMLSelectElement).value)}
          data-testid="logs-filter"
        >
          <option value="">all</option>
          {EVENT_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <ol class="log" data-testid="log-rows" data-count={bus.log.length}>
        {rows.map((e: MeshEvent) => (
          <li key={e.id} data-testid="log-row" data-event-id={e.id} data-type={e.type}>
            <time dateTime={new Date(e.ts).toISOString()}>{new Date(e.ts).toLocaleTimeString()}</time>{" "}
            <strong>{e.type}</strong> <code>{summarize(e)}</code>
          </li>
        ))}
      </ol>
    </section>
  );
}

/** The ids an event is about, for the log line: `task_id=… agent_id=…`. */
function summarize(e: MeshEvent): string {
  const d = e.data as Record<string, unknown>;
  const parts = ["task_id", "agent_id", "seq"]
    .filter((k) => d[k] !== undefined)
    .map((k) => `${k}=${String(d[k])}`);
  for (const key of ["task", "approval", "escalation", "message"]) {
    const inner = d[key] as { id?: string } | undefined;
    if (inner?.id) parts.push(`${key}=${inner.id}`);
  }
  return parts.join(" ");
}

// --- Approvals and escalations -----------------------------------------------------------------

export function ApprovalsView({ role }: { role: Role }) {
  const [approvals, setApprovals] = useState<Approval[] | null>(null);
  const [escalations, setEscalations] = useState<Escalation[]>([]);
  const [error, setError] = useState<string | null>(null);
  const mayDecide = can(role, "agents:write");
  const load = () => {
    api
      .approvals("pending")
      .then((r) => setApprovals(r.approvals))
      .catch((e) => setError(errorText(e)));
    api
      .escalations("open")
      .then((r) => setEscalations(r.escalations))
      .catch(() => setEscalations([]));
  };
  useLiveRefresh(load, (e) => e.type.startsWith("approval_") || e.type.startsWith("escalation_"), []);
  const decide = async (id: string, decision: "approved" | "rejected") => {
    try {
      await api.decideApproval(id, decision);
      load();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const resolve = async (id: string) => {
    try {
      await api.resolveEscalation(id);
      load();
    } catch (e) {
      setError(errorText(e));
    }
  };
  return (
    <section aria-labelledby="appr-h" data-testid="approvals-view">
      <h1 id="appr-h">Approvals</h1>
      {error && (
        <p role="alert" class="error" data-testid="view-error">
          {error}
        </p>
      )}
      {approvals === null ? (
        <p aria-busy="true">Loading…</p>
      ) : approvals.length === 0 ? (
        <p data-testid="approvals-empty">Nothing waits for a decision.</p>
      ) : (
        <ul class="cards">
          {approvals.map((a) => (
            <li key={a.id} class="card" data-testid={`approval-${a.id}`}>
              <h2>{a.action}</h2>
              <p>{a.description}</p>
              <p class="muted">
                {a.agent_id}
                {a.task_id ? ` · ${a.task_id}` : ""} · expires {new Date(a.expires_at).toLocaleTimeString()}
              </p>
              {mayDecide && (
                <div class="row">
                  <button
                    type="button"
                    onClick={() => decide(a.id, "approved")}
                    data-testid={`approve-${a.id}`}
                  >
                    Approve
                  </button>
                  <button
                    type="button"
                    class="danger"
                    onClick={() => decide(a.id, "rejected")}
                    data-testid={`reject-${a.id}`}
                  >
                    Reject
                  </button>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      <h2>Escalations</h2>
      {escalations.length === 0 ? (
        <p data-testid="escalations-empty">No open escalation.</p>
      ) : (
        <ul class="cards">
          {escalations.map((x) => (
            <li key={x.id} class="card" data-testid={`escalation-${x.id}`}>
              <p>
                <strong>{x.agent_id}</strong> {x.reason}
              </p>
              {mayDecide && (
                <button type="button" onClick={() => resolve(x.id)} data-testid={`resolve-${x.id}`}>
                  Resolve
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
