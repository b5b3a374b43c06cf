import type { AgentAnalytics, CostAnalytics, SummaryAnalytics, TaskAnalytics } from "@m3shd/protocol";
import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import { api } from "./api";
import { errorText } from "./views";

/**
 * Admin analytics as charts (uPlot: a small canvas chart library, ~20 KB gzipped, loaded only
 * with this view). Each chart also has a text summary for screen readers.
 */

const AXIS = { stroke: "#8b949e", grid: { stroke: "#21262d" }, ticks: { stroke: "#30363d" } };

function Chart({
  title,
  labels,
  series,
  testid,
  bars = false,
  range,
}: {
  title: string;
  labels: string[];
  series: { label: string; values: number[]; color: string }[];
  testid: string;
  bars?: boolean;
  /** A fixed y range (a percentage is 0–100 whatever the data); auto otherwise. */
  range?: [number, number];
}) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const xs = labels.map((_, i) => i);
    const width = Math.max(280, el.clientWidth || 320);
    const plot = new uPlot(
      {
        width,
        height: 200,
        legend: { show: true },
        cursor: { show: true },
        scales: {
          // Bars sit on their category, half a step in from each edge; lines span the days.
          x: bars ? { time: false, range: [-0.5, Math.max(0.5, labels.length - 0.5)] } : { time: false },
          ...(range ? { y: { range } } : {}),
        },
        axes: [
          {
            ...AXIS,
            splits: () => xs,
            values: (_u, ticks) => ticks.map((t) => labels[t] ?? ""),
          },
          AXIS,
        ],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            fill: `${s.color}33`,
            width: 2,
            ...(bars ? { paths: uPlot.paths.bars?.({ size: [0.6, 40] }) } : {}),
          })),
        ],
      },
      [xs, ...series.map((s) => s.values)],
      el,
    );
    return () => plot.destroy();
  }, [labels.join("|"), JSON.stringify(series)]);
  return (
    <figure class="card chart" data-testid={testid} data-points={labels.length}>
      <figcaption>{title}</figcaption>
      <div
        ref={host}
        role="img"
        aria-label={`${title}: ${series.map((s) => `${s.label} ${s.values.join(", ")}`).join("; ")}`}
      />
    </figure>
  );
}

export function AnalyticsView() {
  const [days, setDays] = useState(7);
  const [data, setData] = useState<{
    s: SummaryAnalytics;
    t: TaskAnalytics;
    c: CostAnalytics;
    a: AgentAnalytics;
  } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    Promise.all([
      api.analyticsSummary(days),
      api.analyticsTasks(days),
      api.analyticsCosts(days),
      api.analyticsAgents(days),
    ])
      .then(([s, t, c, a]) => setData({ s, t, c, a }))
      .catch((e) => setError(errorText(e)));
  }, [days]);
  if (error)
    return (
      <p role="alert" class="error" data-testid="view-error">
        {error}
      </p>
    );
  if (!data) return <p aria-busy="true">Loading analytics…</p>;
  const { s, t, c, a } = data;
  const statuses = Object.keys(t.by_status);
  return (
    <section aria-labelledby="an-h" data-testid="analytics-view">
      <h1 id="an-h">Analytics</h1>
      <label>
        Window
        <select
          value={days}
          data-testid="analytics-days"
          onChange={(e) => setDays(Number((e.target as HTMLSelectElement).value))}
        >
          {[1, 7, 30, 90].map((d) => (
            <option key={d} value={d}>
              {d} day(s)
            </option>
          ))}
        </select>
      </label>
      <p data-testid="analytics-summary">
        {s.tasks.total} tasks, success{" "}
        {s.tasks.success_rate === null ? "–" : `${Math.round(s.tasks.success_rate * 100)}%`}, $
        {s.costs.cost_usd.toFixed(2)} spent, mean uptime {s.agents.avg_uptime_pct ?? "–"}%
      </p>
      <div class="charts">
        <Chart
          title="Tasks per day"
          testid="chart-tasks-day"
          labels={t.by_day.map((d) => d.day.slice(5))}
          series={[
            { label: "done", values: t.by_day.map((d) => d.done), color: "#3fb950" },
            { label: "failed", values: t.by_day.map((d) => d.failed), color: "#f85149" },
          ]}
        />
        <Chart
          title="Tasks by status"
          testid="chart-tasks-status"
          bars
          labels={statuses}
          series={[
            {
              label: "tasks",
              values: statuses.map((k) => t.by_status[k as keyof typeof t.by_status] ?? 0),
              color: "#58a6ff",
            },
          ]}
        />
        <Chart
          title="Tasks by agent"
          testid="chart-tasks-agent"
          bars
          labels={t.by_agent.map((a) => a.agent_id)}
          series={[{ label: "total", values: t.by_agent.map((a) => a.total), color: "#a371f7" }]}
        />
        <Chart
          title="Tasks by capability"
          testid="chart-tasks-capability"
          bars
          labels={t.by_capability.map((a) => a.capability)}
          series={[{ label: "total", values: t.by_capability.map((a) => a.total), color: "#d29922" }]}
        />
        <Chart
          title="Cost per day (USD)"
          testid="chart-cost-day"
          labels={c.by_day.map((d) => d.day.slice(5))}
          series={[{ label: "USD", values: c.by_day.map((d) => d.cost_usd), color: "#db61a2" }]}
        />
        <Chart
          title="Uptime by agent (%)"
          testid="chart-uptime"
          bars
          range={[0, 100]}
          labels={a.agents.map((x) => x.agent_id)}
          series={[{ label: "uptime %", values: a.agents.map((x) => x.uptime_pct), color: "#3fb950" }]}
        />
      </div>
    </section>
  );
}
