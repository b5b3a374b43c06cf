import type { Agent } from "@m3shd/protocol";
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "./api";
import { bus, useLiveRefresh } from "./store";
import { errorText } from "./views";

/**
 * The mesh as a force graph: the hub in the middle, agents around it (colour by status, size by
 * slots), and a particle travelling hub → agent for every assignment as it streams in. WebGL
 * present: the 3D graph (three.js via 3d-force-graph, a further on-demand chunk). No WebGL: a 2D
 * canvas with its own small force layout. Reduced motion: no particles, no drift, one still frame
 * per change.
 *
 * Federation peers are not drawn: the hub has a `peer_hubs` table but no route that lists peers
 * (federation is not exposed over the API yet), and the dashboard reads nothing but the API.
 *
 * The graph is built once and then kept in step with the fleet (`agent_*` events refresh the
 * agent list), so nodes keep their places when an agent joins, leaves or changes status. The
 * drawing surface carries what it shows as data attributes (`data-nodes`, `data-assignments`,
 * `data-particles`, `data-animating`) and a screen-reader list names every node.
 */

const COLORS: Record<string, string> = { online: "#3fb950", busy: "#d29922", offline: "#6e7681" };
const HUB_COLOR = "#58a6ff";

export function hasWebGL(): boolean {
  try {
    const c = document.createElement("canvas");
    return Boolean(c.getContext("webgl2") ?? c.getContext("webgl"));
  } catch {
    return false;
  }
}

const motionQuery = () => matchMedia("(prefers-reduced-motion: reduce)");
const reducedMotion = () => motionQuery().matches;

const sizeOf = (a: Agent) => 5 + Math.min(12, Math.sqrt(a.max_concurrent) * 3);

/** What both renderers report on their element, for people reading the DOM and for tests. */
function report(
  el: HTMLElement,
  s: { nodes: number; assignments: number; particles: number; animating: boolean },
) {
  el.dataset.nodes = String(s.nodes);
  el.dataset.assignments = String(s.assignments);
  el.dataset.particles = String(s.particles);
  el.dataset.animating = String(s.animating);
}

interface Node2D {
  id: string;
  label: string;
  kind: "hub" | "agent";
  status: string;
  size: number;
  x: number;
  y: number;
  vx: number;
  vy: number;
}

/** The 2D renderer: a small force layout on a canvas (repulsion, a spring to the hub, damping). */
class Graph2DSim {
  readonly nodes: Node2D[];
  readonly #byId = new Map<string, Node2D>();
  readonly #particles: { to: string; t: number }[] = [];
  readonly #ctx: CanvasRenderingContext2D;
  #raf = 0;
  #assignments = 0;
  #emitted = 0;
  #w: number;
  #h = 360;

  constructor(readonly el: HTMLCanvasElement) {
    const ctx = el.getContext("2d");
    if (!ctx) throw new Error("no 2D canvas context");
    this.#ctx = ctx;
    this.#w = el.clientWidth || 360;
    el.width = this.#w;
    el.height = this.#h;
    const hub: Node2D = {
      id: "hub",
      label: "hub",
      kind: "hub",
      status: "online",
      size: 14,
      x: this.#w / 2,
      y: this.#h / 2,
      vx: 0,
      vy: 0,
    };
    this.nodes = [hub];
    this.#byId.set(hub.id, hub);
  }

  /** Adds, updates and removes agent nodes in place (the layout is kept), then settles it. */
  sync(agents: readonly Agent[]): void {
    const hub = this.nodes[0] as Node2D;
    const keep = new Set(agents.map((a) => a.id));
    for (let i = this.nodes.length - 1; i > 0; i--) {
      const n = this.nodes[i] as Node2D;
      if (!keep.has(n.id)) {
        this.nodes.splice(i, 1);
        this.#byId.delete(n.id);
      }
    }
    agents.forEach((a, i) => {
      let n = this.#byId.get(a.id);
      if (!n) {
        const angle = (2 * Math.PI * i) / Math.max(1, agents.length);
        n = {
          id: a.id,
          label: a.name,
          kind: "agent",
          status: a.status,
          size: sizeOf(a),
          x: hub.x + Math.cos(angle) * 120,
          y: hub.y + Math.sin(angle) * 120,
          vx: 0,
          vy: 0,
        };
        this.nodes.push(n);
        this.#byId.set(a.id, n);
      }
      n.label = a.name;
      n.status = a.status;
      n.size = sizeOf(a);
    });
    // Settled before it is shown, so reduced-motion users get a still picture at once.
    for (let i = 0; i < 150; i++) this.#step();
    this.#kick();
  }

  /** A task was assigned to `agentId`: a particle travels to it (not under reduced motion). */
  assigned(agentId: string): void {
    this.#assignments++;
    if (!reducedMotion() && this.#byId.has(agentId)) {
      this.#particles.push({ to: agentId, t: 0 });
      this.#emitted++;
    }
    this.#kick();
  }

  /** Draws now; keeps animating only while motion is allowed. Reports what it shows either way. */
  #kick(): void {
    if (this.#raf) {
      this.#report(true);
      return;
    }
    if (reducedMotion()) {
      this.#particles.length = 0;
      this.#draw();
      this.#report(false);
      return;
    }
    const tick = () => {
      if (reducedMotion()) {
        this.#raf = 0;
        this.#kick();
        return;
      }
      this.#step();
      this.#draw();
      this.#raf = requestAnimationFrame(tick);
    };
    this.#raf = requestAnimationFrame(tick);
    this.#report(true);
  }

  #report(animating: boolean): void {
    report(this.el, {
      nodes: this.nodes.length,
      assignments: this.#assignments,
      particles: this.#emitted,
      animating,
    });
  }

  #step(): void {
    const nodes = this.nodes;
    const hub = nodes[0] as Node2D;
    for (const a of nodes) {
      for (const b of nodes) {
        if (a === b) continue;
        const dx = a.x - b.x;
        const dy = a.y - b.y;
        const d2 = Math.max(25, dx * dx + dy * dy);
        a.vx += (dx / d2) * 40;
        a.vy += (dy / d2) * 40;
      }
      if (a.kind === "agent") {
        a.vx += (hub.x - a.x) * 0.002;
        a.vy += (hub.y - a.y) * 0.002;
      }
    }
    for (const n of nodes) {
      if (n.kind === "hub") continue;
      n.vx *= 0.85;
      n.vy *= 0.85;
      n.x = Math.min(this.#w - 10, Math.max(10, n.x + n.vx));
      n.y = Math.min(this.#h - 10, Math.max(10, n.y + n.vy));
    }
  }

  #draw(): void {
    const ctx = this.#ctx;
    const hub = this.nodes[0] as Node2D;
    ctx.clearRect(0, 0, this.#w, this.#h);
    ctx.strokeStyle = "#30363d";
    for (const n of this.nodes.slice(1)) {
      ctx.beginPath();
      ctx.moveTo(hub.x, hub.y);
      ctx.lineTo(n.x, n.y);
      ctx.stroke();
    }
    for (const p of this.#particles) {
      const to = this.#byId.get(p.to);
      if (!to) continue;
      ctx.fillStyle = HUB_COLOR;
      ctx.beginPath();
      ctx.arc(hub.x + (to.x - hub.x) * p.t, hub.y + (to.y - hub.y) * p.t, 3, 0, 2 * Math.PI);
      ctx.fill();
      p.t += 0.02;
    }
    while (this.#particles.length && (this.#particles[0]?.t ?? 0) >= 1) this.#particles.shift();
    for (const n of this.nodes) {
      ctx.fillStyle = n.kind === "hub" ? HUB_COLOR : (COLORS[n.status] ?? "#8b949e");
      ctx.beginPath();
      ctx.arc(n.x, n.y, n.size, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillStyle = "#c9d1d9";
      ctx.font = "12px system-ui";
      ctx.fillText(n.label, n.x + n.size + 3, n.y + 4);
    }
  }

  stop(): void {
    cancelAnimationFrame(this.#raf);
    this.#raf = 0;
  }

  /** The motion preference changed: animate again, or freeze on one frame. */
  motionChanged(): void {
    this.stop();
    this.#kick();
  }
}

/** A key that changes only when what the graph draws changes (not on every heartbeat). */
const signature = (agents: readonly Agent[]) =>
  agents.map((a) => `${a.id}:${a.name}:${a.status}:${a.max_concurrent}`).join("|");

function Graph2D({ agents }: { agents: Agent[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const sim = useRef<Graph2DSim | null>(null);
  useEffect(() => {
    const el = canvas.current;
    if (!el) return;
    const s = new Graph2DSim(el);
    sim.current = s;
    s.sync(agents);
    const off = bus.on((e) => {
      if (e.type === "task_assigned") s.assigned(e.data.agent_id);
    });
    const mq = motionQuery();
    const onMotion = () => s.motionChanged();
    mq.addEventListener("change", onMotion);
    return () => {
      off();
      mq.removeEventListener("change", onMotion);
      s.stop();
      sim.current = null;
    };
  }, []);
  const sig = signature(agents);
  useEffect(() => sim.current?.sync(agents), [sig]);
  return (
    <canvas
      ref={canvas}
      class="graph"
      data-testid="mesh-2d"
      role="img"
      aria-label={`Mesh graph: the hub and ${agents.length} agent(s)`}
    />
  );
}

interface Node3D {
  id: string;
  name: string;
  val: number;
  color: string;
}

function Graph3D({ agents, onFail }: { agents: Agent[]; onFail: () => void }) {
  const host = useRef<HTMLDivElement>(null);
  const latest = useRef(agents);
  latest.current = agents;
  const syncRef = useRef<((a: readonly Agent[]) => void) | null>(null);
  useEffect(() => {
    let graph: { _destructor?: () => void } | null = null;
    let off = () => {};
    let cancelled = false;
    import("3d-force-graph")
      .then(({ default: ForceGraph3D }) => {
        const el = host.current;
        if (cancelled || !el) return;
        const hub: Node3D = { id: "hub", name: "hub", val: 8, color: HUB_COLOR };
        const byId = new Map<string, Node3D>([["hub", hub]]);
        let assignments = 0;
        let particles = 0;
        const g = new ForceGraph3D(el)
          .width(el.clientWidth || 360)
          .height(400)
          .backgroundColor("#0d1117")
          .nodeLabel("name")
          .nodeVal("val")
          .nodeColor("color")
          .linkDirectionalParticleSpeed(0.02);
        graph = g as unknown as typeof graph;
        const publish = () =>
          report(el, { nodes: byId.size, assignments, particles, animating: !reducedMotion() });
        // Node objects are reused across updates so the simulation keeps their positions.
        const sync = (list: readonly Agent[]) => {
          const keep = new Set(list.map((a) => a.id));
          for (const id of byId.keys()) if (id !== "hub" && !keep.has(id)) byId.delete(id);
          for (const a of list) {
            const n = byId.get(a.id) ?? { id: a.id, name: a.name, val: 1, color: "" };
            n.name = a.name;
            n.val = 1 + a.max_concurrent;
            n.color = COLORS[a.status] ?? "#8b949e";
            byId.set(a.id, n);
          }
          g.graphData({
            nodes: [...byId.values()],
            links: list.map((a) => ({ source: "hub", target: a.id })),
          });
          publish();
        };
        syncRef.current = sync;
        sync(latest.current);
        off = bus.on((e) => {
          if (e.type !== "task_assigned") return;
          assignments++;
          if (!reducedMotion()) {
            const link = g.graphData().links.find((l) => {
              const t = l.target as { id?: string } | string;
              return (typeof t === "string" ? t : t.id) === e.data.agent_id;
            });
            if (link) {
              g.emitParticle(link);
              particles++;
            }
          }
          publish();
        });
      })
      .catch(onFail);
    return () => {
      cancelled = true;
      syncRef.current = null;
      off();
      graph?._destructor?.();
    };
  }, []);
  const sig = signature(agents);
  useEffect(() => syncRef.current?.(agents), [sig]);
  return (
    <div
      ref={host}
      class="graph"
      data-testid="mesh-3d"
      role="img"
      aria-label={`3D mesh graph: the hub and ${agents.length} agent(s)`}
    />
  );
}

export function MeshView() {
  const [agents, setAgents] = useState<Agent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [mode, setMode] = useState<"3d" | "2d">(() => (hasWebGL() ? "3d" : "2d"));
  useLiveRefresh(
    () => {
      api
        .agents()
        .then((r) => {
          setAgents(r.agents);
          setError(null);
        })
        .catch((e) => setError(errorText(e)));
    },
    (e) => e.type.startsWith("agent_"),
    [],
  );
  if (error)
    return (
      <p role="alert" class="error" data-testid="view-error">
        {error}
      </p>
    );
  if (!agents) return <p aria-busy="true">Loading the mesh…</p>;
  return (
    <section aria-labelledby="mesh-h" data-testid="mesh-view" data-mode={mode}>
      <h1 id="mesh-h">Mesh</h1>
      <p class="muted">
        {mode === "3d" ? "3D view (drag to rotate, scroll to zoom)." : "2D view: this browser has no WebGL."}
      </p>
      {mode === "3d" ? <Graph3D agents={agents} onFail={() => setMode("2d")} /> : <Graph2D agents={agents} />}
      <ul class="sr-only" data-testid="mesh-nodes" aria-label="Nodes of the mesh">
        <li>hub</li>
        {agents.map((a) => (
          <li key={a.id} data-testid={`mesh-node-${a.id}`} data-status={a.status}>
            {a.name}: {a.status}, {a.active_tasks}/{a.max_concurrent} slots
          </li>
        ))}
      </ul>
    </section>
  );
}
