import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createTask,
  type DashboardMesh,
  launchBrowser,
  login,
  newPage,
  pageErrors,
  screenshot,
  startDashboardMesh,
  until,
} from "./harness";

/**
 * The task page and the operator actions around it, in a real Chromium against a real mesh, with
 * agents the test drives over the worker API (no worker process: every attempt, chunk, failure
 * and handoff happens exactly when the test says). One escalation per failure, so the escalation
 * flow needs no failure streak.
 */

let m: DashboardMesh;
let browser: Browser;

beforeAll(async () => {
  m = await startDashboardMesh({ worker: false, hub: { workflows: { escalationThreshold: 1 } } });
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await m?.close();
});

const text = (page: Page, testid: string) => page.getByTestId(testid).textContent();

async function openTask(page: Page, id: string): Promise<void> {
  await page.goto(`${m.url}/#/task/${id}`);
  await page.locator(`[data-testid="task-detail"]`).waitFor();
  // The stream is open before the test makes anything happen, so no event is missed.
  await page.locator('[data-testid="conn-state"][data-state="open"]').waitFor();
}

/** The first escalation opened for `agent`, once there is one. */
async function escalationOf(agent: string): Promise<string> {
  return until(
    async () => {
      const r = await m.call("GET", `/api/escalations?agent=${agent}&status=open`);
      return (r.body.escalations as { id: string }[] | undefined)?.[0]?.id;
    },
    10_000,
    `an escalation for ${agent}`,
  );
}

describe("task detail in a real browser", () => {
  test("a retried task keeps each attempt's streamed output apart (attempt 2's seq 0 does not overwrite attempt 1's)", async () => {
    const agent = await m.agent("retry-agent", ["retry"]);
    const id = await createTask(m, { title: "retried", required_capability: "retry", max_attempts: 3 });
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    await openTask(page, id);

    const first = await agent.claim(id);
    expect(first).toBe(1);
    await agent.stream(id, 1, 0, "first-a ");
    await agent.stream(id, 1, 1, "first-b");
    await expect.poll(() => text(page, "attempt-output-1")).toBe("first-a first-b");
    await agent.finish(id, 1, { error: "flaky" });

    // The dispatcher hands the retry back to the only agent that can run it: attempt 2.
    expect(await agent.claim(id)).toBe(2);
    await agent.stream(id, 2, 0, "second-a");
    await expect.poll(() => text(page, "attempt-output-2")).toBe("second-a");
    expect(await text(page, "attempt-output-1")).toBe("first-a first-b");
    // The main output follows the current attempt; the attempts are counted.
    expect(await text(page, "task-output")).toBe("second-a");
    await expect.poll(() => text(page, "task-attempts")).toBe("2 of 3");
    expect(await page.getByTestId("attempts-output").getAttribute("data-attempts")).toBe("2");
    await screenshot(page, "task-detail-attempts");

    // The same grouping from the REST history, after a reload (no event replay involved).
    await page.reload();
    await page.getByTestId("attempt-output-2").waitFor();
    expect(await text(page, "attempt-output-1")).toBe("first-a first-b");
    expect(await text(page, "attempt-output-2")).toBe("second-a");
    expect(await page.getByTestId("attempt-1").getAttribute("data-chunks")).toBe("2");
    expect(await page.getByTestId("attempt-2").getAttribute("data-chunks")).toBe("1");

    await agent.finish(id, 2, { output: "second-a done" });
    await page.locator('[data-testid="task-detail"][data-status="done"]').waitFor();
    expect(await text(page, "task-output")).toBe("second-a done");
    expect(await text(page, "attempt-output-1")).toBe("first-a first-b");
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  test("hand off a running task from its page: suspended, with a continuation carrying the partial output", async () => {
    const agent = await m.agent("handoff-agent", ["handoff"]);
    const id = await createTask(m, { title: "handed off", required_capability: "handoff" });
    // A user (tasks:write without agents:write) may cancel but not act for the agent.
    {
      const { context, page } = await newPage(browser);
      await login(page, m.url, "user");
      const attempt = await agent.claim(id);
      await openTask(page, id);
      await page.locator('[data-testid="task-detail"][data-status="running"]').waitFor();
      await page.getByTestId("task-cancel").waitFor();
      expect(await page.getByTestId("task-handoff").count()).toBe(0);
      await context.close();
      await agent.stream(id, attempt, 0, "partial work ");
    }
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    await openTask(page, id);
    await expect.poll(() => text(page, "task-output")).toBe("partial work ");
    await page.getByTestId("task-handoff").click();
    await page.locator('[data-testid="task-detail"][data-status="suspended"]').waitFor();
    const continuation = await page.getByTestId("task-continued-by").textContent();
    expect(continuation).toMatch(/^task_/);
    // Once suspended there is nothing left to cancel or hand off.
    expect(await page.getByTestId("task-cancel").count()).toBe(0);
    expect(await page.getByTestId("task-handoff").count()).toBe(0);
    await screenshot(page, "task-detail-handoff");

    // The hub agrees: suspended, continued by the new task, which carries the partial output.
    const before = await m.call("GET", `/api/tasks/${id}`);
    expect(before.body.task).toMatchObject({
      status: "suspended",
      continued_by: continuation,
      partial_output: "partial work ",
    });
    const next = await m.call("GET", `/api/tasks/${continuation}`);
    expect(next.body.task).toMatchObject({ continuation_of: id });
    expect(
      (next.body.task as { prompt_parts: { handoffs: { partial_output: string }[] } }).prompt_parts.handoffs,
    ).toEqual([expect.objectContaining({ partial_output: "partial work " })]);

    // The link leads to the continuation, which links back.
    await page.getByTestId("task-continued-by").click();
    await page.locator(`[data-testid="task-continuation-of"]`).waitFor();
    expect(await text(page, "task-continuation-of")).toContain(id);
    expect(await text(page, "task-prompt-parts")).toContain("handoffs: 1");
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  test("DAG neighbours in both directions: parents with their status, dependents live", async () => {
    // A root nobody serves (it stays queued), two children, a grandchild.
    const root = await createTask(m, { title: "dag root", required_capability: "dag-nobody" });
    const left = await createTask(m, {
      title: "dag left",
      required_capability: "dag-nobody",
      depends_on: [root],
    });
    const right = await createTask(m, {
      title: "dag right",
      required_capability: "dag-nobody",
      depends_on: [root],
    });
    const leaf = await createTask(m, {
      title: "dag leaf",
      required_capability: "dag-nobody",
      depends_on: [left],
    });
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");

    await openTask(page, left);
    const parent = page.getByTestId(`dag-parent-${root}`);
    await parent.waitFor();
    await expect.poll(() => parent.getAttribute("data-status")).toBe("queued");
    expect(await parent.textContent()).toContain("dag root");
    const child = page.getByTestId(`dag-child-${leaf}`);
    await child.waitFor();
    expect(await child.getAttribute("data-status")).toBe("waiting");
    expect(await page.getByTestId("dag-children").locator("a").count()).toBe(1);
    await screenshot(page, "task-detail-dag");

    // Up to the root: no parents, both children; a new dependent shows up without a reload.
    await parent.click();
    await page.getByTestId(`dag-child-${right}`).waitFor();
    await page.getByTestId(`dag-child-${left}`).waitFor();
    await page.getByTestId("dag-parents-none").waitFor();
    expect(await page.getByTestId(`dag-child-${leaf}`).count()).toBe(0); // a grandchild is not a neighbour
    const late = await createTask(m, {
      title: "dag late",
      required_capability: "dag-nobody",
      depends_on: [root],
    });
    await page.getByTestId(`dag-child-${late}`).waitFor();
    expect(await page.getByTestId("dag-children").locator("a").count()).toBe(3);

    // And down again to the leaf, whose only neighbour is its parent.
    await page.getByTestId(`dag-child-${left}`).click();
    await page.getByTestId(`dag-child-${leaf}`).click();
    await page.getByTestId(`dag-parent-${left}`).waitFor();
    await page.getByTestId("dag-children-none").waitFor();
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  test("resolve an escalation in one tap", async () => {
    const agent = await m.agent("flaky-agent", ["flaky"]);
    const id = await createTask(m, { required_capability: "flaky", max_attempts: 1 });
    const attempt = await agent.claim(id);
    await agent.finish(id, attempt, { error: "it broke" });
    const escalation = await escalationOf("flaky-agent");
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    await page.getByTestId("nav-approvals").click();
    const card = page.getByTestId(`escalation-${escalation}`);
    await card.waitFor();
    expect(await card.textContent()).toContain("flaky-agent");
    await screenshot(page, "approvals-escalation");
    await page.getByTestId(`resolve-${escalation}`).click();
    await card.waitFor({ state: "detached" });
    const after = await m.call("GET", `/api/escalations/${escalation}`);
    expect((after.body.escalation as { status: string }).status).toBe("resolved");
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  test("a viewer sees no cancel, handoff or resolve button, and the hub refuses each", async () => {
    const agent = await m.agent("viewer-seen-agent", ["viewer-seen"]);
    const running = await createTask(m, { required_capability: "viewer-seen", max_attempts: 1 });
    const attempt = await agent.claim(running);
    const broken = await createTask(m, { required_capability: "viewer-seen", max_attempts: 1 });
    const brokenAttempt = await agent.claim(broken);
    await agent.finish(broken, brokenAttempt, { error: "down" });
    const escalation = await escalationOf("viewer-seen-agent");

    const { context, page } = await newPage(browser);
    await login(page, m.url, "viewer");
    await openTask(page, running);
    await page.locator('[data-testid="task-detail"][data-status="running"]').waitFor();
    await page.getByTestId("dag").waitFor();
    expect(await page.getByTestId("task-actions").count()).toBe(0);
    expect(await page.getByTestId("task-cancel").count()).toBe(0);
    expect(await page.getByTestId("task-handoff").count()).toBe(0);
    await screenshot(page, "task-detail-viewer");
    await page.getByTestId("nav-approvals").click();
    await page.getByTestId(`escalation-${escalation}`).waitFor();
    expect(await page.getByTestId(`resolve-${escalation}`).count()).toBe(0);

    // Forced requests with the viewer's session cookie and CSRF token are refused.
    const statuses = await page.locator("html").evaluate(
      async (html, a) => {
        const csrf = /m3shd_csrf=([^;]+)/.exec(html.ownerDocument.cookie)?.[1] ?? "";
        const headers = { "content-type": "application/json", "x-csrf-token": decodeURIComponent(csrf) };
        const send = (method: string, url: string, body: unknown, extra: Record<string, string> = {}) =>
          fetch(url, { method, headers: { ...headers, ...extra }, body: JSON.stringify(body) }).then(
            (r) => r.status,
          );
        return [
          await send("POST", `/api/tasks/${a.running}/cancel`, {}),
          await send(
            "POST",
            `/api/tasks/${a.running}/handoff`,
            { partial_output: "", attempt: a.attempt },
            { "x-m3shd-agent": a.agent },
          ),
          await send("PUT", `/api/escalations/${a.escalation}`, { status: "resolved" }),
          csrf.length > 0,
        ];
      },
      { running, attempt, escalation, agent: agent.id },
    );
    expect(statuses).toEqual([403, 403, 403, true]);
    expect((await m.call("GET", `/api/tasks/${running}`)).body.task).toMatchObject({ status: "running" });
    await context.close();
  });
});
