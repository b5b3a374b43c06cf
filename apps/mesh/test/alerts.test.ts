import type { WorkflowsConfig } from "@m3shd/hub";
import { describe, expect, it } from "vitest";
import { fakeNtfy } from "./fake-ntfy";
import { MODES, type Mode, type TestMesh, testMesh, until } from "./helpers";

const DAY = 86_400_000;

/** A clock that runs with real time from a chosen instant, and can be moved forward. */
function clockAt(start: number) {
  const clock = { offset: start - Date.now() };
  return {
    now: () => Date.now() + clock.offset,
    forward(ms: number) {
      clock.offset += ms;
    },
  };
}

async function alertingMesh(
  mode: Mode,
  url: string,
  extra: { now?: () => number; workflows?: Partial<WorkflowsConfig>; quietAgents?: boolean } = {},
): Promise<TestMesh> {
  return testMesh(mode, {
    ...(extra.now ? { now: extra.now } : {}),
    // Agents that stop polling are not declared down within the test (no agent-down alerts).
    ...(extra.quietAgents ? { dispatcher: { offlineAfterMs: 600_000 } } : {}),
    hub: {
      workflows: {
        ntfy: { url, topic: "mesh-alerts", token: "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2", timeoutMs: 5000 },
        ...extra.workflows,
      },
    },
  });
}

/** Whether the sentinel's task-failed alert (always enqueued last) has arrived. */
const sentinelIn = (ntfy: { messages: { tags?: string[]; message: string }[] }) => () =>
  ntfy.messages.some((m) => m.tags?.includes("task_failed") && m.message.endsWith(": sentinel"));

/** Fails a task for good: one attempt, failed by `agent`. Returns how long the PUT took (ms). */
async function failOnce(mesh: TestMesh, agent: string): Promise<number> {
  const created = await mesh.api.createTask({ max_attempts: 1, required_capability: "sentinel" });
  const task = await mesh.api.next(agent, 5);
  expect(task?.id).toBe(created.id);
  const started = performance.now();
  expect((await mesh.api.fail(agent, created.id, "sentinel")).status).toBe(200);
  return performance.now() - started;
}

describe.each(MODES)("ntfy alerts (%s)", (mode) => {
  it("agent down: once per outage", async () => {
    const ntfy = await fakeNtfy({ authorization: "Bearer tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2" });
    const mesh = await alertingMesh(mode, ntfy.url);
    await mesh.api.register("sleeper", ["echo"]);
    const [first] = await ntfy.waitFor(1);
    expect(first).toMatchObject({
      topic: "mesh-alerts",
      title: "Agent sleeper is down",
      priority: 4,
      tags: ["warning", "agent_down"],
      authorization: "Bearer tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2",
    });
    // Still down: more sweeps, no more alerts.
    await mesh.dispatcher.sweep("heartbeats");
    await mesh.dispatcher.sweep("heartbeats");
    // Back (its poll closes the outage), then down again: a new outage, a new alert.
    expect(await mesh.api.next("sleeper", 0)).toBeNull();
    await until(async () => {
      const res = await mesh.api.call<{ agent: { status: string } }>("GET", "/api/agents/sleeper");
      return res.body.agent.status === "offline";
    });
    await ntfy.waitFor(2);
    // A sentinel alert enqueued last: once it is in, an earlier duplicate would be too.
    await mesh.api.register("sentinel", ["sentinel"]);
    await failOnce(mesh, "sentinel");
    await until(sentinelIn(ntfy), 15_000, "sentinel");
    expect(ntfy.messages.filter((m) => m.title === "Agent sleeper is down")).toHaveLength(2);
  });

  it("task failed: only on its last attempt; escalation: once while open", async () => {
    const ntfy = await fakeNtfy();
    const mesh = await alertingMesh(mode, ntfy.url, { quietAgents: true });
    const { api } = mesh;
    // Two attempts: the first failure is retried (no alert), the second is final (one alert).
    await api.register("failer", ["twice"]);
    const twice = await api.createTask({ max_attempts: 2, required_capability: "twice", title: "flaky job" });
    for (let i = 0; i < 2; i++) {
      expect((await api.next("failer", 5))?.id).toBe(twice.id);
      await api.fail("failer", twice.id, `boom ${i}`);
    }
    await until(() => ntfy.messages.some((m) => m.tags?.includes("task_failed")), 15_000, "task_failed");
    const failed = ntfy.messages.find((m) => m.tags?.includes("task_failed"));
    expect(failed).toMatchObject({
      title: "Task failed: flaky job",
      tags: ["x", "task_failed"],
      priority: 4,
    });
    expect(failed?.message).toContain("boom 1");

    // Three failures in a row escalate; the fourth, with the escalation still open, does not.
    await api.register("shaky", ["shaky"]);
    const retried = await api.createTask({ max_attempts: 10, required_capability: "shaky" });
    for (let i = 0; i < 4; i++) {
      expect((await api.next("shaky", 5))?.id).toBe(retried.id); // the 4th waits out the breaker cool-down
      await api.fail("shaky", retried.id, `shake ${i}`);
    }
    await api.register("sentinel", ["sentinel"]);
    await failOnce(mesh, "sentinel");
    await until(sentinelIn(ntfy), 15_000, "sentinel");
    const escalations = ntfy.messages.filter((m) => m.tags?.includes("escalation"));
    expect(escalations).toHaveLength(1);
    expect(escalations[0]).toMatchObject({ title: "Escalation: shaky failed 3 times in a row", priority: 5 });
    expect(ntfy.messages.filter((m) => m.tags?.includes("task_failed"))).toHaveLength(2); // flaky job + sentinel
  });

  it("budget threshold: once per UTC day per agent", async () => {
    const ntfy = await fakeNtfy();
    const clock = clockAt(Math.ceil(Date.now() / DAY) * DAY - 20_000); // 20 s before midnight UTC
    const mesh = await alertingMesh(mode, ntfy.url, {
      now: clock.now,
      workflows: { spendAlertUsd: 1 },
      quietAgents: true,
    });
    const { api } = mesh;
    await api.register("spender", ["echo"]);
    const spend = async () => {
      const created = await api.createTask({});
      expect((await api.next("spender", 5))?.id).toBe(created.id);
      expect((await api.complete("spender", created.id, "ok", { cost_usd: 0.6 })).status).toBe(200);
    };
    await spend(); // $0.60
    await spend(); // $1.20: crossed
    await spend(); // $1.80: same day, no second alert
    clock.forward(30_000); // the UTC day rolls over
    await spend(); // $0.60
    await spend(); // $1.20: crossed again, on the new day
    await api.register("sentinel", ["sentinel"]);
    await failOnce(mesh, "sentinel");
    await until(sentinelIn(ntfy), 15_000, "sentinel");
    const budget = ntfy.messages.filter((m) => m.tags?.includes("budget"));
    expect(budget).toHaveLength(2);
    expect(budget[0]?.message).toMatch(/\$1\.2000 spent/);
    expect(budget[0]?.message.slice(0, 10)).not.toBe(budget[1]?.message.slice(0, 10)); // two different days
  });

  it("a failed delivery is retried with backoff; a slow ntfy never blocks a request", async () => {
    // The first delivery stalls 1.5 s and then fails with a 503; the retry, after the backoff, succeeds.
    const ntfy = await fakeNtfy({ behave: (n) => (n === 1 ? { delayMs: 1500, status: 503 } : undefined) });
    const mesh = await alertingMesh(mode, ntfy.url, { quietAgents: true });
    await mesh.api.register("sentinel", ["sentinel"]);
    const took = await failOnce(mesh, "sentinel");
    expect(took).toBeLessThan(500);
    await ntfy.waitFor(1, 20_000);
    expect(ntfy.attempts.map((a) => a.status)).toEqual([503, 200]);
    const [first, second] = ntfy.attempts;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1900); // the backoff
    expect(ntfy.messages).toHaveLength(1);
  });
});
