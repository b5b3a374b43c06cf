import { LIMITS, type ProvenanceResponse, type Task, truncateUtf8 } from "@m3shd/protocol";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, isDemoApi } from "./api";
import { hashLeaf, hexToBytes, verifyInclusion } from "./merkle";
import { can, type Role } from "./roles";
import { bus, useLiveRefresh } from "./store";
import { ErrorLine, errorText, TERMINAL } from "./views";

type Verdict =
  | { state: "checking" }
  | { state: "absent"; why: string }
  | { state: "verified"; chain: number; index: number; size: number }
  | { state: "broken"; why: string };

/** Checks the task's provenance: the hub's chain verdict, then the Merkle inclusion proof, here. */
export async function checkProvenance(taskId: string, p: ProvenanceResponse): Promise<Verdict> {
  if (!p.verdict.ok) return { state: "broken", why: `chain: ${p.verdict.reason ?? "broken"}` };
  const link = p.chain.find((l) => l.task_id === taskId);
  if (!link) return { state: "broken", why: "the chain has no link for this task" };
  const leaf = await hashLeaf(hexToBytes(link.hash));
  const result = await verifyInclusion({
    leafIndex: p.merkle.leaf_index,
    treeSize: p.merkle.tree_size,
    leafHash: leaf,
    proof: p.merkle.proof.map(hexToBytes),
    root: hexToBytes(p.merkle.root),
  });
  return result.ok
    ? { state: "verified", chain: p.chain.length, index: p.merkle.leaf_index, size: p.merkle.tree_size }
    : { state: "broken", why: `inclusion: ${result.reason}` };
}

/**
 * Streamed output per attempt: attempt → seq → content. Every attempt (lease) numbers its chunks
 * from 0, so a retry's seq 0 is a different chunk from the first attempt's seq 0: keyed by seq
 * alone, the retry would overwrite what the failed attempt printed.
 */
type Streams = ReadonlyMap<number, ReadonlyMap<number, string>>;

function withChunk(streams: Streams, attempt: number, seq: number, content: string): Streams {
  const next = new Map(streams);
  next.set(attempt, new Map(streams.get(attempt)).set(seq, content));
  return next;
}

/** One attempt's chunks joined in `seq` order. */
function joined(chunks: ReadonlyMap<number, string> | undefined): string {
  if (!chunks) return "";
  return [...chunks.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, c]) => c)
    .join("");
}

/** A neighbour in the DAG: an id, and its title and status once read. */
interface Neighbour {
  id: string;
  title?: string;
  status?: string;
}

/** Parents whose status the page reads (one request each); the rest are plain links. */
const PARENTS_READ = 20;
/** Dependents listed (one page of `GET /api/tasks?depends_on=`). */
const CHILDREN_PAGE = 50;

function NeighbourLink({ n, testid }: { n: Neighbour; testid: string }) {
  return (
    <li>
      <a href={`#/task/${n.id}`} class="chip neighbour" data-testid={testid} data-status={n.status ?? ""}>
        <span>{n.title ?? n.id}</span>
        {n.status && <span class={`pill status-${n.status}`}>{n.status}</span>}
      </a>
    </li>
  );
}

export function TaskDetailView({ id, role }: { id: string; role: Role }) {
  const [task, setTask] = useState<Task | null>(null);
  const [streams, setStreams] = useState<Streams>(new Map());
  const [parents, setParents] = useState<Neighbour[]>([]);
  const [children, setChildren] = useState<{ list: Neighbour[]; more: boolean } | null>(null);
  const [verdict, setVerdict] = useState<Verdict>({ state: "checking" });
  const [error, setError] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** Ids whose events should refresh this page: the task and its neighbours. */
  const related = useRef(new Set<string>([id]));
  // Declared before the refresh below: a new id starts from a clean set, then its load fills it.
  useEffect(() => {
    related.current = new Set([id]);
  }, [id]);

  useLiveRefresh(
    () => {
      api
        .task(id)
        .then((r) => {
          setTask(r.task);
          const ids = r.task.depends_on;
          for (const p of ids) related.current.add(p);
          // Parents' statuses say why a task waits; the demo's small request budget skips them.
          if (isDemoApi() || ids.length === 0) {
            setParents(ids.map((p) => ({ id: p })));
            return;
          }
          Promise.all(
            ids.map((p, i) =>
              i < PARENTS_READ
                ? api.task(p).then(
                    (x) => ({ id: p, title: x.task.title, status: x.task.status }),
                    () => ({ id: p }),
                  )
                : { id: p },
            ),
          ).then(setParents);
        })
        .catch((e) => setError(errorText(e)));
      api
        .tasks({ depends_on: id, limit: CHILDREN_PAGE })
        .then((r) => {
          for (const c of r.tasks) related.current.add(c.id);
          setChildren({
            list: r.tasks.map((c) => ({ id: c.id, title: c.title, status: c.status })),
            more: r.next_cursor !== null,
          });
        })
        .catch(() => setChildren({ list: [], more: false }));
      if (isDemoApi()) return; // outputs are redacted in the demo: no chunks to read
      api
        .chunks(id)
        .then((r) => {
          let next: Streams = new Map();
          for (const c of r.chunks) next = withChunk(next, c.attempt, c.seq, c.content);
          setStreams(next);
        })
        .catch(() => undefined);
    },
    (e) => {
      if (!e.type.startsWith("task_") || e.type === "task_chunk") return false;
      const d = e.data as { task_id?: string; task?: { id: string; depends_on?: string[] } };
      if (d.task_id !== undefined) return related.current.has(d.task_id);
      // task_created: a new dependent of this task, or a continuation.
      return Boolean(d.task && (d.task.depends_on?.includes(id) || related.current.has(d.task.id)));
    },
    [id],
  );
  // Streamed output arrives as events and is placed by (attempt, seq) without a round trip.
  useEffect(
    () =>
      bus.on((e) => {
        if (e.type === "task_chunk" && e.data.task_id === id) {
          setStreams((m) => withChunk(m, e.data.attempt, e.data.seq, e.data.content));
        }
      }),
    [id],
  );
  useEffect(() => {
    if (task?.status !== "done") {
      setVerdict({ state: "absent", why: "only completed tasks are signed" });
      return;
    }
    if (isDemoApi()) {
      setVerdict({ state: "absent", why: "provenance is not part of the public demo" });
      return;
    }
    setVerdict({ state: "checking" });
    api
      .provenance(id)
      .then((p) => checkProvenance(id, p))
      .then(setVerdict)
      .catch((e) => setVerdict({ state: "broken", why: errorText(e) }));
  }, [id, task?.status]);

  if (error) return <ErrorLine error={error} />;
  if (!task) return <p aria-busy="true">Loading task…</p>;
  // The current attempt: the task's, or a newer one whose chunks arrived before the task refresh.
  const attempts = [...streams.keys()];
  const current = Math.max(task.attempt, ...attempts, 0);
  const output = task.output ?? joined(streams.get(current));
  const shownAttempts = Array.from({ length: current }, (_, i) => i + 1);
  const mayWrite = can(role, "tasks:write");
  // The handoff route acts for the holding agent: the hub wants `agents:write` for that.
  const mayHandOff = mayWrite && can(role, "agents:write");
  const cancel = async () => {
    setBusy(true);
    try {
      setTask((await api.cancelTask(id, "cancelled from the dashboard")).task);
      setActionError(null);
    } catch (e) {
      setActionError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const handOff = async () => {
    if (!task.assigned_to) return;
    setBusy(true);
    try {
      // What this attempt streamed so far travels with the continuation (≤ 32 KB, cut at a
      // character boundary).
      const partial = truncateUtf8(joined(streams.get(task.attempt)), LIMITS.handoffPartialBytes).text;
      const res = await api.handoffTask(id, {
        agent: task.assigned_to,
        attempt: task.attempt,
        partial_output: partial,
        reason: "handed off from the dashboard",
      });
      related.current.add(res.continuation.id);
      setTask(res.suspended);
      setActionError(null);
    } catch (e) {
      setActionError(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const live = !TERMINAL.has(task.status);
  return (
    <article aria-labelledby="task-h" data-testid="task-detail" data-status={task.status}>
      <p>
        <a href="#/tasks" class="back">
          ← Tasks
        </a>
      </p>
      <h1 id="task-h">{task.title}</h1>
      <p>
        <span class={`pill status-${task.status}`} data-testid="task-status">
          {task.status}
        </span>{" "}
        <span class={`pill urgency-${task.urgency}`}>urgency {task.urgency}</span>{" "}
        <span class="muted">{task.id}</span>
      </p>
      {mayWrite && live && (
        <div class="row actions" data-testid="task-actions">
          <button type="button" class="danger" onClick={cancel} disabled={busy} data-testid="task-cancel">
            Cancel task
          </button>
          {mayHandOff && task.status === "running" && task.assigned_to && (
            <button type="button" class="ghost" onClick={handOff} disabled={busy} data-testid="task-handoff">
              Hand off to another pickup
            </button>
          )}
        </div>
      )}
      <ErrorLine error={actionError} />
      {task.continued_by && (
        <p role="status" data-testid="handoff-notice">
          Handed off: continues as{" "}
          <a href={`#/task/${task.continued_by}`} class="chip" data-testid="task-continued-by">
            {task.continued_by}
          </a>
        </p>
      )}
      <section class="card" aria-label="Provenance" data-testid="provenance" data-state={verdict.state}>
        <h2>Provenance</h2>
        <p data-testid="provenance-verdict">
          {verdict.state === "verified"
            ? `Verified in this browser: chain of ${verdict.chain} link(s) intact; Merkle inclusion proof of leaf ${verdict.index} in a log of ${verdict.size} checks against the root.`
            : verdict.state === "checking"
              ? "Checking…"
              : verdict.state === "absent"
                ? `No verdict: ${verdict.why}`
                : `NOT VERIFIED: ${verdict.why}`}
        </p>
      </section>
      <section class="card" aria-label="Output">
        <h2>Output</h2>
        <pre data-testid="task-output" aria-live="polite">
          {output || "(no output yet)"}
        </pre>
      </section>
      {shownAttempts.length > 0 && !isDemoApi() && (
        <section
          class="card"
          aria-labelledby="attempts-h"
          data-testid="attempts-output"
          data-attempts={shownAttempts.length}
        >
          <h2 id="attempts-h">Streamed output by attempt</h2>
          <ol class="attempts">
            {shownAttempts.map((n) => {
              const text = joined(streams.get(n));
              return (
                <li key={n} data-testid={`attempt-${n}`} data-chunks={streams.get(n)?.size ?? 0}>
                  <h3>
                    Attempt {n}
                    {n === current && live ? " (current)" : ""}
                  </h3>
                  <pre data-testid={`attempt-output-${n}`}>{text || "(nothing streamed)"}</pre>
                </li>
              );
            })}
          </ol>
        </section>
      )}
      <section class="card" aria-labelledby="dag-h" data-testid="dag">
        <h2 id="dag-h">Neighbours</h2>
        <h3>Depends on</h3>
        {parents.length ? (
          <ul class="neighbours" data-testid="dag-parents">
            {parents.map((n) => (
              <NeighbourLink key={n.id} n={n} testid={`dag-parent-${n.id}`} />
            ))}
          </ul>
        ) : (
          <p class="muted" data-testid="dag-parents-none">
            nothing
          </p>
        )}
        <h3>Needed by</h3>
        {children === null ? (
          <p aria-busy="true">Loading…</p>
        ) : children.list.length ? (
          <ul class="neighbours" data-testid="dag-children">
            {children.list.map((n) => (
              <NeighbourLink key={n.id} n={n} testid={`dag-child-${n.id}`} />
            ))}
            {children.more && <li class="muted">and more (newest {CHILDREN_PAGE} shown)</li>}
          </ul>
        ) : (
          <p class="muted" data-testid="dag-children-none">
            no task depends on this one
          </p>
        )}
        {(task.continuation_of || task.continued_by) && (
          <ul class="neighbours">
            {task.continuation_of && (
              <li>
                <a href={`#/task/${task.continuation_of}`} class="chip" data-testid="task-continuation-of">
                  continues {task.continuation_of}
                </a>
              </li>
            )}
            {task.continued_by && (
              <li>
                <a href={`#/task/${task.continued_by}`} class="chip">
                  continued by {task.continued_by}
                </a>
              </li>
            )}
          </ul>
        )}
      </section>
      <dl class="facts">
        <dt>Prompt (as submitted)</dt>
        <dd>
          <pre data-testid="task-prompt">{task.prompt}</pre>
        </dd>
        {task.prompt_parts && (
          <>
            <dt>Prompt parts</dt>
            <dd data-testid="task-prompt-parts">
              memory:{" "}
              {task.prompt_parts.memory
                ? task.prompt_parts.memory.status === "injected"
                  ? `injected (${task.prompt_parts.memory.chars} chars)`
                  : task.prompt_parts.memory.status
                : "not picked up yet"}{" "}
              · parents: {task.prompt_parts.parents ? `${task.prompt_parts.parents.length} chars` : "none"} ·
              handoffs: {task.prompt_parts.handoffs.length}
            </dd>
          </>
        )}
        {task.composed_prompt !== undefined && task.composed_prompt !== task.prompt && (
          <>
            <dt>Composed prompt (what the worker received)</dt>
            <dd>
              <pre data-testid="task-composed-prompt">{task.composed_prompt}</pre>
            </dd>
          </>
        )}
        <dt>Capability / priority</dt>
        <dd data-testid="task-capability-priority">
          {task.required_capability} / {task.priority}
        </dd>
        <dt>Deadline</dt>
        <dd data-testid="task-deadline">{task.deadline ? new Date(task.deadline).toISOString() : "none"}</dd>
        <dt>Attempts</dt>
        <dd data-testid="task-attempts">
          {task.attempts} of {task.max_attempts}
        </dd>
        <dt>Confidence</dt>
        <dd>{task.confidence ?? "–"}</dd>
        <dt>Model / usage / cost</dt>
        <dd>
          {task.model ?? "–"} /{" "}
          {task.usage ? `${task.usage.input_tokens} in, ${task.usage.output_tokens} out` : "–"} /{" "}
          {task.cost_usd !== null ? `$${task.cost_usd.toFixed(4)}` : "–"}
        </dd>
        {task.error && (
          <>
            <dt>Error</dt>
            <dd class="error" data-testid="task-error">
              {task.error}
            </dd>
          </>
        )}
      </dl>
      <section class="card" aria-label="Assignment reason" data-testid="assignment">
        <h2>Why this agent</h2>
        {task.assignment ? (
          <>
            <p>
              Winner <strong data-testid="assignment-winner">{task.assignment.winner}</strong> by{" "}
              {task.assignment.strategy}
            </p>
            <table>
              <caption class="sr-only">Candidates</caption>
              <thead>
                <tr>
                  <th scope="col">agent</th>
                  <th scope="col">score</th>
                  <th scope="col">details</th>
                </tr>
              </thead>
              <tbody>
                {task.assignment.candidates.map((c) => {
                  const { agent_id, score, ...rest } = c as { agent_id: string; score: number } & Record<
                    string,
                    unknown
                  >;
                  return (
                    <tr key={agent_id}>
                      <td>{agent_id}</td>
                      <td>{score.toFixed(3)}</td>
                      <td class="muted">
                        {Object.entries(rest)
                          .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
                          .join(", ")}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </>
        ) : (
          <p>Not assigned yet.</p>
        )}
      </section>
    </article>
  );
}
