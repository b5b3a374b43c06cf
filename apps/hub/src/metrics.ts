import type { MemoryClient } from "@m3shd/memory";
import { AGENT_STATUSES, BREAKER_STATES, EVENT_TYPES, JOB_NAMES, TASK_STATUSES } from "@m3shd/protocol";
import {
  Counter,
  createMetricsRegistry,
  Gauge,
  Histogram,
  LATENCY_BUCKETS,
  type Registry,
  registerQueueMetrics,
} from "@m3shd/service-kit";
import type { HubContext } from "./context";
import type { StreamHub } from "./events/stream-hub";

/** The hub's metrics: its registry and the few it records as things happen. */
export interface HubMetrics {
  registry: Registry;
  /** Counts one mesh event seen on the bus (every hub sees every event in split mode). */
  event(type: string): void;
  /** The memory client, timed (recall latency and outcome). */
  timeMemory(client: MemoryClient): MemoryClient;
  close(): void;
}

const KNOWN_EVENTS: ReadonlySet<string> = new Set(EVENT_TYPES);

/**
 * Builds the hub's metrics on `registry` (a fresh one with process metrics when not given). Task,
 * agent and breaker gauges are read from SQLite at scrape time — the shared system of record, so
 * every hub process of a mesh reports the same mesh-wide numbers and a restart loses nothing.
 * Counters and histograms are this process's own (Prometheus sums them across instances).
 */
export function createHubMetrics(
  ctx: HubContext,
  streamHub: StreamHub,
  registry: Registry = createMetricsRegistry(),
): HubMetrics {
  const sqlite = ctx.database.sqlite;
  const countBy = (table: "tasks" | "agents", column: "status" | "breaker_state") =>
    new Map(
      (
        sqlite.prepare(`select ${column} as k, count(*) as n from ${table} group by ${column}`).all() as {
          k: string;
          n: number;
        }[]
      ).map((r) => [r.k, r.n]),
    );

  new Gauge({
    name: "m3shd_tasks",
    help: "Tasks by status (read from the database at scrape time)",
    labelNames: ["status"] as const,
    registers: [registry],
    collect() {
      const counts = countBy("tasks", "status");
      for (const status of TASK_STATUSES) this.set({ status }, counts.get(status) ?? 0);
    },
  });
  new Gauge({
    name: "m3shd_agents",
    help: "Registered agents by status (read from the database at scrape time)",
    labelNames: ["status"] as const,
    registers: [registry],
    collect() {
      const counts = countBy("agents", "status");
      for (const status of AGENT_STATUSES) this.set({ status }, counts.get(status) ?? 0);
    },
  });
  new Gauge({
    name: "m3shd_agent_breakers",
    help: "Agents by circuit-breaker state as stored (an open breaker past its cool-down is probed by the dispatcher)",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      const counts = countBy("agents", "breaker_state");
      for (const state of BREAKER_STATES) this.set({ state }, counts.get(state) ?? 0);
    },
  });
  new Gauge({
    name: "m3shd_sse_subscribers",
    help: "Open SSE streams on this hub",
    registers: [registry],
    collect() {
      this.set(streamHub.stats().subscribers);
    },
  });
  let droppedSeen = 0;
  new Counter({
    name: "m3shd_sse_drops_total",
    help: "SSE subscribers this hub dropped for falling behind their queue limit",
    registers: [registry],
    collect() {
      const dropped = streamHub.stats().dropped;
      if (dropped > droppedSeen) this.inc(dropped - droppedSeen);
      droppedSeen = dropped;
    },
  });
  const events = new Counter({
    name: "m3shd_events_total",
    help: "Mesh events this hub received from the bus, by type (task_completed, task_failed, agent_breaker …)",
    labelNames: ["type"] as const,
    registers: [registry],
  });
  // Every known type starts at 0, so `rate()` and "completed == created" queries see the series.
  for (const type of EVENT_TYPES) events.inc({ type }, 0);
  const recall = new Histogram({
    name: "m3shd_memory_recall_duration_seconds",
    help: "Pickup-time memory recall, as the hub waits for it, by outcome (ok, unavailable)",
    labelNames: ["outcome"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const stopQueue = registerQueueMetrics(registry, ctx.queue, JOB_NAMES);

  return {
    registry,
    event(type) {
      if (KNOWN_EVENTS.has(type)) events.inc({ type });
    },
    timeMemory(client) {
      return {
        kind: client.kind,
        async recall(input) {
          const started = performance.now();
          const outcome = await client.recall(input);
          recall.observe({ outcome: outcome.status }, (performance.now() - started) / 1000);
          return outcome;
        },
        forward: (request, principal, requestId) => client.forward(request, principal, requestId),
        health: () => client.health(),
      };
    },
    close() {
      stopQueue();
    },
  };
}
