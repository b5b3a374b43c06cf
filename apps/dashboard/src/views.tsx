import type { Agent, Task } from "@m3shd/protocol";
import { useEffect, useState } from "preact/hooks";
import { ApiError, api, type Template } from "./api";
import { can, type Role } from "./roles";
import { useLiveRefresh } from "./store";

export const STATUSES = [
  "waiting",
  "queued",
  "assigned",
  "running",
  "done",
  "failed",
  "cancelled",
  "suspended",
] as const;
/** Statuses a task never leaves. */
export const TERMINAL: ReadonlySet<string> = new Set(["done", "failed", "cancelled", "suspended"]);

export function ago(ms: number | null | undefined): string {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.round(s / 60)}m ago`;
  return `${Math.round(s / 3600)}h ago`;
}

export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.status ? `${err.status} ` : ""}${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

export function ErrorLine({ error }: { error: string | null }) {
  return error ? (
    <p role="alert" class="error" data-testid="view-error">
      {error}
    </p>
  ) : null;
}

// --- Fleet -------------------------------------------------------------------------------------

export function FleetView() {
  const [agents, setAgents] = useState<Agent[] | null>(null);
  const [pending, setPending] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  useLiveRefresh(
    () => {
      api
        .agents()
        .then((r) => setAgents(r.agents))
        .catch((e) => setError(errorText(e)));
      api
        .approvals("pending")
        .then((r) => setPending(r.approvals.length))
        .catch(() => setPending(null));
    },
    (e) => e.type.startsWith("agent_") || e.type.startsWith("approval_") || e.type.startsWith("task_"),
    [],
  );
  const count = (s: string) => agents?.filter((a) => a.status === s).length ?? 0;
  const active = agents?.reduce((n, a) => n + a.active_tasks, 0) ?? 0;
  return (
    <section aria-labelledby="fleet-h" data-testid="fleet-view">
      <h1 id="fleet-h">Fleet</h1>
      <ErrorLine error={error} />
      <dl class="summary" data-testid="fleet-summary">
        <div>
          <dt>Online</dt>
          <dd data-testid="summary-online">{count("online")}</dd>
        </div>
        <div>
          <dt>Busy</dt>
          <dd data-testid="summary-busy">{count("busy")}</dd>
        </div>
        <div>
          <dt>Offline</dt>
          <dd data-testid="summary-offline">{count("offline")}</dd>
        </div>
        <div>
          <dt>Active tasks</dt>
          <dd data-testid="summary-active">{active}</dd>
        </div>
        <div>
          <dt>Pending approvals</dt>
          <dd data-testid="summary-approvals">{pending ?? "–"}</dd>
        </div>
      </dl>
      {agents === null ? (
        <p aria-busy="true">Loading agents…</p>
      ) : agents.length === 0 ? (
        <p data-testid="fleet-empty">No agent has registered yet. Start a worker with `pnpm start`.</p>
      ) : (
        <ul class="cards" data-testid="agent-list">
          {agents.map((a) => (
            <li key={a.id} class={`card agent status-${a.status}`} data-testid={`agent-card-${a.id}`}>
              <h2>{a.name}</h2>
              <p class="muted">{a.machine ?? "unknown machine"}</p>
              <p>
                <span class={`pill status-${a.status}`} data-testid="agent-status">
                  {a.status}
                </span>{" "}
                <span class={`pill breaker-${a.breaker.state}`} data-testid="agent-breaker">
                  breaker {a.breaker.state}
                </span>
              </p>
              <meter
                min={0}
                max={a.max_concurrent}
                value={a.active_tasks}
                aria-label={`slots used on ${a.name}`}
              />
              <p data-testid="agent-slots">
                {a.active_tasks}/{a.max_concurrent} slots
              </p>
              <p class="muted">
                {a.provider ?? "?"} · {a.model ?? "no model"} · seen {ago(a.last_seen_at)}
              </p>
              <p class="caps">
                {a.capabilities.map((c) => (
                  <span key={c} class="chip static">
                    {c}
                  </span>
                ))}
              </p>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

// --- Tasks -------------------------------------------------------------------------------------

function TaskCard({ t }: { t: Task }) {
  return (
    <li class={`card task urgency-${t.urgency}`} data-testid={`task-card-${t.id}`} data-status={t.status}>
      <a href={`#/task/${t.id}`} class="task-link">
        <strong>{t.title}</strong>
        <span class="muted">
          {t.required_capability} · p{t.priority}
          {t.assigned_to ? ` · ${t.assigned_to}` : ""}
        </span>
      </a>
    </li>
  );
}

function TemplateForm({ template, onDone }: { template: Template; onDone: (msg: string) => void }) {
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    const variables: Record<string, string> = {};
    for (const v of template.variables) variables[v] = String(data.get(v) ?? "");
    try {
      const res = await api.dispatchTemplate(template.id, variables);
      onDone(`Dispatched ${res.task.id}`);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form
      class="card stack"
      onSubmit={submit}
      data-testid="template-form"
      aria-label={`Dispatch ${template.name}`}
    >
      <h3>{template.name}</h3>
      {template.description && <p class="muted">{template.description}</p>}
      {template.variables.map((v) => (
        <label key={v}>
          {v}
          <input name={v} required data-testid={`template-var-${v}`} />
        </label>
      ))}
      <ErrorLine error={error} />
      <button type="submit" data-testid="template-dispatch">
        Dispatch
      </button>
    </form>
  );
}

function CreateTaskForm({ onDone }: { onDone: (msg: string) => void }) {
  const [error, setError] = useState<string | null>(null);
  // Held in state: a fixed `value` would snap back to 5 on every re-render (e.g. an error shown).
  const [priority, setPriority] = useState("5");
  const submit = async (e: Event) => {
    e.preventDefault();
    const d = new FormData(e.currentTarget as HTMLFormElement);
    const deadline = String(d.get("deadline") ?? "");
    const deps = String(d.get("depends_on") ?? "")
      .split(/[\s,]+/)
      .filter(Boolean);
    const body: Record<string, unknown> = {
      title: String(d.get("title") ?? ""),
      prompt: String(d.get("prompt") ?? ""),
      required_capability: String(d.get("capability") ?? ""),
      priority: Number(priority),
    };
    // datetime-local has no offset; the hub rejects ambiguous local times, so send epoch ms.
    if (deadline) body.deadline = new Date(deadline).getTime();
    if (deps.length) body.depends_on = deps;
    try {
      const res = await api.createTask(body);
      (e.target as HTMLFormElement).reset();
      setPriority("5");
      onDone(`Created ${res.task.id}`);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form class="card stack" onSubmit={submit} data-testid="create-task-form" aria-label="Create a task">
      <h3>New task</h3>
      <label>
        Title
        <input name="title" required maxLength={200} data-testid="create-title" />
      </label>
      <label>
        Prompt
        <textarea name="prompt" required rows={3} data-testid="create-prompt" />
      </label>
      <label>
        Capability
        <input name="capability" required data-testid="create-capability" />
      </label>
      <label>
        Priority (1–10)
        <input
          name="priority"
          type="number"
          min={1}
          max={10}
          required
          value={priority}
          onInput={(e) => setPriority((e.target as HTMLInputElement).value)}
          data-testid="create-priority"
        />
      </label>
      <label>
        Deadline
        <input name="deadline" type="datetime-local" data-testid="create-deadline" />
      </label>
      <label>
        Depends on (task ids)
        <input name="depends_on" data-testid="create-depends" />
      </label>
      <ErrorLine error={error} />
      <button type="submit" data-testid="create-submit">
        Create
      </button>
    </form>
  );
}

/** Performance mark: the tasks view's first page of cards has been painted (once per page load). */
export const FIRST_PAGE_MARK = "m3shd:tasks-first-page";

/** Tasks per server page: the kanban shows one newest-first page, grouped by status. */
export const TASKS_PAGE = 50;

export function TasksView({ role }: { role: Role }) {
  const [filters, setFilters] = useState({ status: "", capability: "", agent: "" });
  // The loaded pages (newest first) and the cursor of the next one; columns group them by status.
  const [list, setList] = useState<{ tasks: Task[]; next: string | null } | null>(null);
  const [templates, setTemplates] = useState<Template[]>([]);
  const [open, setOpen] = useState<Template | "create" | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const writable = can(role, "tasks:write");
  const shown = filters.status ? [filters.status] : [...STATUSES];
  const query = (cursor?: string) => ({
    limit: TASKS_PAGE,
    status: filters.status || undefined,
    capability: filters.capability || undefined,
    agent: filters.agent || undefined,
    cursor,
  });

  // One request per refresh, whatever the table holds: never the whole history (the failure of
  // dashboards that load everything up front). Older pages come from the cursor on demand.
  const load = () => {
    api
      .tasks(query())
      .then((r) => {
        setList((prev) => {
          // Keep pages already loaded below the first, minus tasks now on the first page.
          const fresh = new Set(r.tasks.map((t) => t.id));
          const older =
            prev && prev.tasks.length > TASKS_PAGE
              ? prev.tasks.slice(TASKS_PAGE).filter((t) => !fresh.has(t.id))
              : [];
          return { tasks: [...r.tasks, ...older], next: older.length ? (prev?.next ?? null) : r.next_cursor };
        });
        setError(null);
      })
      .catch((e) => setError(errorText(e)));
  };
  useLiveRefresh(load, (e) => e.type.startsWith("task_") && e.type !== "task_chunk", [
    filters.status,
    filters.capability,
    filters.agent,
  ]);
  useEffect(() => setList(null), [filters.status, filters.capability, filters.agent]);
  // `m3shd:tasks-first-page` (read by bench/first-page.ts as `dashboard.first_page_ms`): set once
  // the first page of cards is on screen, not when its data arrives. preact runs effects after
  // the frame that committed the cards; the animation frame requested here starts the frame after
  // that one, so at least one paint with the cards has happened when the mark is set.
  const painted = list !== null;
  useEffect(() => {
    if (!painted || performance.getEntriesByName(FIRST_PAGE_MARK).length > 0) return;
    const frame = requestAnimationFrame(() => {
      if (performance.getEntriesByName(FIRST_PAGE_MARK).length === 0) performance.mark(FIRST_PAGE_MARK);
    });
    return () => cancelAnimationFrame(frame);
  }, [painted]);
  // Templates wait for the first page: on a busy hub the task list is what the operator came for.
  const listReady = list !== null;
  useEffect(() => {
    if (!writable || !listReady) return;
    api
      .templates()
      .then((r) => setTemplates(r.templates))
      .catch(() => setTemplates([]));
  }, [writable, listReady]);

  const more = async () => {
    if (!list?.next) return;
    try {
      const r = await api.tasks(query(list.next));
      const seen = new Set(list.tasks.map((t) => t.id));
      setList({ tasks: [...list.tasks, ...r.tasks.filter((t) => !seen.has(t.id))], next: r.next_cursor });
    } catch (e) {
      setError(errorText(e));
    }
  };
  const columns: Record<string, Task[]> = {};
  for (const s of shown) columns[s] = [];
  for (const t of list?.tasks ?? []) columns[t.status]?.push(t);
  const done = (msg: string) => {
    setNotice(msg);
    setOpen(null);
  };

  return (
    <section aria-labelledby="tasks-h" data-testid="tasks-view">
      <h1 id="tasks-h">Tasks</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter tasks">
        <label>
          Status
          <select
            value={filters.status}
            onChange={(e) => setFilters({ ...filters, status: (e.target as HTMLSelectElement).value })}
            data-testid="filter-status"
          >
            <option value="">all</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Capability
          <input
            value={filters.capability}
            onChange={(e) =>
              setFilters({ ...filters, capability: (e.target as HTMLInputElement).value.trim() })
            }
            data-testid="filter-capability"
          />
        </label>
        <label>
          Agent
          <input
            value={filters.agent}
            onChange={(e) => setFilters({ ...filters, agent: (e.target as HTMLInputElement).value.trim() })}
            data-testid="filter-agent"
          />
        </label>
      </form>
      {writable && (
        <fieldset class="chips" data-testid="template-chips">
          <legend class="sr-only">Templates</legend>
          {templates.map((t) => (
            <button
              type="button"
              key={t.id}
              class="chip"
              aria-pressed={open !== "create" && open?.id === t.id}
              onClick={() => setOpen(open !== "create" && open?.id === t.id ? null : t)}
              data-testid={`template-chip-${t.name}`}
            >
              {t.name}
            </button>
          ))}
          <button
            type="button"
            class="chip primary"
            aria-pressed={open === "create"}
            onClick={() => setOpen(open === "create" ? null : "create")}
            data-testid="create-task-open"
          >
            + New task
          </button>
        </fieldset>
      )}
      {open === "create" && <CreateTaskForm onDone={done} />}
      {open && open !== "create" && <TemplateForm key={open.id} template={open} onDone={done} />}
      {notice && (
        <p role="status" data-testid="tasks-notice">
          {notice}
        </p>
      )}
      <ErrorLine error={error} />
      {list === null ? (
        <p aria-busy="true">Loading tasks…</p>
      ) : (
        <>
          <div class="kanban" data-testid="kanban" data-loaded={list.tasks.length}>
            {shown.map((s) => (
              <section key={s} class="column" aria-label={`${s} tasks`} data-testid={`column-${s}`}>
                <h2>
                  {s} <span class="muted">{columns[s]?.length ?? 0}</span>
                </h2>
                <ul>
                  {columns[s]?.map((t) => (
                    <TaskCard key={t.id} t={t} />
                  ))}
                </ul>
              </section>
            ))}
          </div>
          <p class="muted" data-testid="tasks-page-info">
            {list.tasks.length} newest task(s) shown{list.next ? "; older ones on the next page" : ""}.
          </p>
          {list.next && (
            <button type="button" class="ghost" onClick={more} data-testid="tasks-more">
              Load {TASKS_PAGE} older
            </button>
          )}
        </>
      )}
    </section>
  );
}
