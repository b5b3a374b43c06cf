import type { Agent } from "@m3shd/protocol";
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "./api";
import { bus } from "./store";
import { errorText } from "./views";

/**
 * The mesh as a force graph: the hub in the middle, agents around it (colour by status, size by
 * slots), and a particle travelling hub → agent for every assignment as it streams in. WebGL
 * present: the 3D graph (three.js via 3d-force-graph, a further on-demand chunk). No WebGL: a 2D
 * canvas with its own small force layout. Reduced motion: no particles, no drift.
 */

const COLORS: Record<string, string> = { online: "#3fb950", busy: "#d29922", offline: "#6e7681" };

interface Node {
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

export function hasWebGL(): boolean {
  try {
    const c = document.createElement("canvas");
    return Boolean(c.getContext("webgl2") ?? c.getContext("webgl"));
  } catch {
    return false;
  }
}

const reducedMotion = () => matchMedia("(prefers-reduced-motion: reduce)").matches;

function Graph2D({ agents }: { agents: Agent[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const el = canvas.current;
    const ctx = el?.getContext("2d");
    if (!el || !ctx) return;
    const w = el.clientWidth || 360;
    const h = 360;
    el.width = w;
    el.height = h;
    const nodes: Node[] = [
      { id: "hub", label: "hub", kind: "hub", status: "online", size: 14, x: w / 2, y: h / 2, vx: 0, vy: 0 },
      ...agents.map((a, i) => {
        const angle = (2 * Math.PI * i) / Math.max(1, agents.length);
        return {
          id: a.id,
          label: a.name,
          kind: "agent" as const,
          status: a.status,
          size: 5 + Math.min(12, Math.sqrt(a.max_concurrent) * 3),
          x: w / 2 + Math.cos(angle) * 120,
          y: h / 2 + Math.sin(angle) * 120,
          vx: 0,
          vy: 0,
        };
      }),
    ];
    const byId = new Map(nodes.map((n) => [n.id, n]));
    const particles: { to: string; t: number }[] = [];
    const off = bus.on((e) => {
      if (e.type === "task_assigned" && !reducedMotion()) particles.push({ to: e.data.agent_id, t: 0 });
    });
    let frame = 0;
    const step = () => {
      // Repulsion between every pair, a spring to the hub, damping: enough for a few hundred nodes.
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
          const hub = nodes[0] as Node;
          a.vx += (hub.x - a.x) * 0.002;
          a.vy += (hub.y - a.y) * 0.002;
        }
      }
      for (const n of nodes) {
        if (n.kind === "hub") continue;
        n.vx *= 0.85;
        n.vy *= 0.85;
        n.x = Math.min(w - 10, Math.max(10, n.x + n.vx));
        n.y = Math.min(h - 10, Math.max(10, n.y + n.vy));
      }
    };
    const draw = () => {
      ctx.clearRect(0, 0, w, h);
      const hub = nodes[0] as Node;
      ctx.strokeStyle = "#30363d";
      for (const n of nodes.slice(1)) {
        ctx.beginPath();
        ctx.moveTo(hub.x, hub.y);
        ctx.lineTo(n.x, n.y);
        ctx.stroke();
      }
      for (const p of particles) {
        const to = byId.get(p.to);
        if (!to) continue;
        ctx.fillStyle = "#58a6ff";
        ctx.beginPath();
        ctx.arc(hub.x + (to.x - hub.x) * p.t, hub.y + (to.y - hub.y) * p.t, 3, 0, 2 * Math.PI);
        ctx.fill();
        p.t += 0.02;
      }
      while (particles.length && (particles[0]?.t ?? 0) >= 1) particles.shift();
      for (const n of nodes) {
        ctx.fillStyle = n.kind === "hub" ? "#58a6ff" : (COLORS[n.status] ?? "#8b949e");
        ctx.beginPath();
        ctx.arc(n.x, n.y, n.size, 0, 2 * Math.PI);
        ctx.fill();
        ctx.fillStyle = "#c9d1d9";
        ctx.font = "12px system-ui";
        ctx.fillText(n.label, n.x + n.size + 3, n.y + 4);
      }
    };
    const tick = () => {
      if (!reducedMotion() || frame < 200) step();
      draw();
      frame++;
      raf = requestAnimationFrame(tick);
    };
    // Settle the layout before the first paint so reduced-motion users get a still picture.
    for (let i = 0; i < 150; i++) step();
    let raf = requestAnimationFrame(tick);
    return () => {
      cancelAnimationFrame(raf);
      off();
    };
  }, [agents]);
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

function Graph3D({ agents, onFail }: { agents: Agent[]; onFail: () => void }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let graph: { _destructor?: () => void; emitParticle?: (link: unknown) => void } | null = null;
    let off = () => {};
    let cancelled = false;
    import("3d-force-graph")
      .then(({ default: ForceGraph3D }) => {
        const el = host.current;
        if (cancelled || !el) return;
        const nodes = [
          { id: "hub", name: "hub", val: 8, color: "#58a6ff" },
          ...agents.map((a) => ({
            id: a.id,
            name: a.name,
            val: 1 + a.max_concurrent,
            color: COLORS[a.status] ?? "#8b949e",
          })),
        ];
        const links = agents.map((a) => ({ source: "hub", target: a.id }));
        const g = new ForceGraph3D(el)
          .width(el.clientWidth || 360)
          .height(400)
          .backgroundColor("#0d1117")
          .nodeLabel("name")
          .nodeVal("val")
          .nodeColor("color")
          .linkDirectionalParticleSpeed(0.02)
          .graphData({ nodes, links });
        graph = g as unknown as typeof graph;
        off = bus.on((e) => {
          if (e.type !== "task_assigned" || reducedMotion()) return;
          const link = g.graphData().links.find((l) => {
            const t = l.target as { id?: string } | string;
            return (typeof t === "string" ? t : t.id) === e.data.agent_id;
          });
          if (link) g.emitParticle(link);
        });
      })
      .catch(onFail);
    return () => {
      cancelled = true;
      off();
      graph?._destructor?.();
    };
  }, [agents]);
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
  useEffect(() => {
    api
      .agents()
      .then((r) => setAgents(r.agents))
      .catch((e) => setError(errorText(e)));
  }, []);
  if (error)
    return (
      <p role="alert" class="error">
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
    </section>
  );
}
