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
 * The tasks view (server pagination, filters, the create form), the logs filter, the analytics
 * charts and the chat, in a real Chromium against one real mesh with a real `jobs` worker.
 */

let m: DashboardMesh;
let browser: Browser;
/** Tasks the worker finished (text_stats), for the filters and the charts. */
const done: string[] = [];
/** 55 queued tasks nobody serves, oldest first: more than one page of 50. */
const pager: string[] = [];

beforeAll(async () => {
  m = await startDashboardMesh();
  browser = await launchBrowser();
  for (let i = 0; i < 3; i++) {
    done.push(
      await createTask(m, {
        title: `stats ${i}`,
        prompt: "one two three",
        required_capability: "text_stats",
      }),
    );
  }
  for (let i = 0; i < 55; i++) {
    pager.push(await createTask(m, { title: `page ${i}`, required_capability: "pager" }));
  }
  await until(
    async () => {
      const r = await m.call("GET", "/api/tasks?status=done&limit=10");
      return (r.body.tasks as unknown[]).length === done.length;
    },
    30_000,
    "the worker to finish its tasks",
  );
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await m?.close();
});

/** Types a filter value and commits it (the filters apply on change, as a phone keyboard's "go" does). */
async function filter(page: Page, testid: string, value: string): Promise<void> {
  await page.getByTestId(testid).fill(value);
  await page.getByTestId(testid).press("Enter");
}

const cardIds = (page: Page) =>
  page
    .locator('[data-testid="kanban"] [data-testid^="task-card-"]')
    .evaluateAll((cards) =>
      cards.map((c) => (c.getAttribute("data-testid") ?? "").replace("task-card-", "")),
    );

describe("dashboard views in a real browser", () => {
  test("tasks: one server page of 50, then 'load older'; the first-page mark follows the painted cards", async () => {
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    // Records when the first card enters the DOM, to compare with the app's performance mark.
    await page.addInitScript({
      content: `window.__firstCardAt = null;
new MutationObserver(() => {
  if (window.__firstCardAt === null && document.querySelector('[data-testid^="task-card-"]'))
    window.__firstCardAt = performance.now();
}).observe(document, { childList: true, subtree: true });`,
    });
    await page.goto(`${m.url}/?fresh=1#/tasks`);
    await page.getByTestId("kanban").waitFor();
    const marks = await page
      .waitForFunction(() => {
        const mark = performance.getEntriesByName("m3shd:tasks-first-page")[0];
        const seen = (globalThis as unknown as { __firstCardAt: number | null }).__firstCardAt;
        return mark && seen !== null ? { mark: mark.startTime, card: seen } : false;
      })
      .then((h) => h.jsonValue());
    if (!marks) throw new Error("no first-page mark");
    expect(marks.card).toBeGreaterThan(0);
    // Set after the cards were in the DOM (and a frame later), not when their data arrived.
    expect(marks.mark).toBeGreaterThan(marks.card);

    // All tasks: 58 in the mesh, the newest 50 on the first page.
    expect(await page.getByTestId("kanban").getAttribute("data-loaded")).toBe("50");
    expect(await page.getByTestId("tasks-page-info").textContent()).toContain("older ones on the next page");

    await filter(page, "filter-capability", "pager");
    await expect.poll(() => cardIds(page).then((ids) => ids.length)).toBe(50);
    const first = await cardIds(page);
    // Newest first: the five oldest are not on the first page.
    expect(new Set(first)).toEqual(new Set(pager.slice(5)));
    await page.getByTestId("tasks-more").click();
    await expect.poll(() => page.getByTestId("kanban").getAttribute("data-loaded")).toBe("55");
    expect(new Set(await cardIds(page))).toEqual(new Set(pager));
    expect(await page.getByTestId("tasks-more").count()).toBe(0);
    expect(await page.getByTestId("column-queued").locator('[data-testid^="task-card-"]').count()).toBe(55);
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  test("tasks: filters by status, capability and agent are applied by the server", async () => {
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    await page.getByTestId("nav-tasks").click();
    await page.getByTestId("kanban").waitFor();

    await page.getByTestId("filter-status").selectOption("done");
    await page.getByTestId("column-done").waitFor();
    await expect.poll(() => page.locator('[data-testid^="column-"]').count()).toBe(1);
    await expect.poll(() => cardIds(page)).toEqual([...done].reverse());
    await screenshot(page, "tasks-filtered");

    await page.getByTestId("filter-status").selectOption("");
    await filter(page, "filter-agent", "local-jobs");
    await expect.poll(() => cardIds(page).then((ids) => new Set(ids))).toEqual(new Set(done));
    expect(await page.locator('[data-testid^="column-"]').count()).toBe(8);

    // Filters combine: the worker's tasks of another capability are none.
    await filter(page, "filter-capability", "pager");
    await expect.poll(() => page.getByTestId("kanban").getAttribute("data-loaded")).toBe("0");
    await filter(page, "filter-agent", "");
    await expect.poll(() => page.getByTestId("kanban").getAttribute("data-loaded")).toBe("50");
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  test("tasks: the create form (prompt, capability, priority, deadline, depends_on) creates a task that appears", async () => {
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    await page.getByTestId("nav-tasks").click();
    await page.getByTestId("kanban").waitFor();
    await page.getByTestId("create-task-open").click();
    const parent = pager[0] as string;
    // A deadline tomorrow, typed as the datetime-local input takes it (the browser's local time).
    const when = new Date(Date.now() + 86_400_000);
    const pad = (n: number) => String(n).padStart(2, "0");
    const local = `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}T${pad(when.getHours())}:${pad(when.getMinutes())}`;

    // A parent that does not exist is refused, and the form says so.
    await page.getByTestId("create-title").fill("made in the form");
    await page.getByTestId("create-prompt").fill("summarise the form");
    await page.getByTestId("create-capability").fill("form-cap");
    await page.getByTestId("create-priority").fill("8");
    await page.getByTestId("create-deadline").fill(local);
    await page.getByTestId("create-depends").fill("task_01M89BYA656ZRM64XMTMSYM3QB");
    await page.getByTestId("create-submit").click();
    await expect.poll(() => page.getByTestId("view-error").textContent()).toMatch(/^404 /);

    await page.getByTestId("create-depends").fill(parent);
    await screenshot(page, "tasks-create");
    await page.getByTestId("create-submit").click();
    const notice = await page.getByTestId("tasks-notice").textContent();
    const id = /task_[0-9A-Z]+/.exec(notice ?? "")?.[0] ?? "";
    expect(id, `notice: ${notice}`).toMatch(/^task_/);
    // It appears on the board at once, waiting for its parent.
    const card = page.getByTestId("column-waiting").getByTestId(`task-card-${id}`);
    await card.waitFor();
    expect(await card.textContent()).toContain("made in the form");
    const saved = (await m.call("GET", `/api/tasks/${id}`)).body.task;
    expect(saved).toMatchObject({
      title: "made in the form",
      prompt: "summarise the form",
      required_capability: "form-cap",
      priority: 8,
      deadline: new Date(local).getTime(),
      depends_on: [parent],
      status: "waiting",
    });
    // Its page names the parent it waits for.
    await card.getByRole("link").click();
    await page.getByTestId(`dag-parent-${parent}`).waitFor();
    expect(await page.getByTestId("task-capability-priority").textContent()).toBe("form-cap / 8");
    await context.close();
  });

  test("logs: the event-type filter shows only that type", async () => {
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    await page.getByTestId("nav-logs").click();
    await page.locator('[data-testid="conn-state"][data-state="open"]').waitFor();
    // A mix of events while the page watches: two task_created, a message_created.
    const a = await createTask(m, { title: "log a", required_capability: "pager" });
    await m.call("POST", "/api/messages", { channel: "general", content: "for the log" });
    const b = await createTask(m, { title: "log b", required_capability: "pager" });
    await page.locator(`[data-testid="log-row"][data-type="task_created"]:has-text("${b}")`).waitFor();
    await page.locator('[data-testid="log-row"][data-type="message_created"]').first().waitFor();
    const types = () =>
      page
        .locator('[data-testid="log-row"]')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-type")));

    await page.getByTestId("logs-filter").selectOption("task_created");
    await expect.poll(async () => new Set(await types())).toEqual(new Set(["task_created"]));
    const rows = await page.locator('[data-testid="log-row"]').allTextContents();
    expect(rows.some((r) => r.includes(a))).toBe(true);
    expect(rows.some((r) => r.includes(b))).toBe(true);
    await screenshot(page, "logs-filtered");

    await page.getByTestId("logs-filter").selectOption("message_created");
    await expect.poll(async () => new Set(await types())).toEqual(new Set(["message_created"]));

    await page.getByTestId("logs-filter").selectOption("");
    await expect.poll(async () => new Set(await types()).size).toBeGreaterThanOrEqual(2);
    await context.close();
  });

  test("analytics: every chart is drawn, uptime included, as charts", async () => {
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    await page.getByTestId("nav-analytics").click();
    await page.getByTestId("analytics-view").waitFor();
    const charts = [
      "chart-tasks-day",
      "chart-tasks-status",
      "chart-tasks-agent",
      "chart-tasks-capability",
      "chart-cost-day",
      "chart-uptime",
    ];
    for (const id of charts) {
      const chart = page.getByTestId(id);
      await chart.locator("canvas").first().waitFor();
      const box = await chart.locator("canvas").first().boundingBox();
      expect(box?.width, id).toBeGreaterThan(100);
      expect(box?.height, id).toBeGreaterThan(100);
      // Every chart has a text equivalent for screen readers.
      expect(await chart.getByRole("img").getAttribute("aria-label"), id).toMatch(/\d/);
    }
    expect(await page.locator("figure.chart").count()).toBe(charts.length);
    // Uptime is drawn per agent (the worker is online, so it has a bar), not only summarised.
    expect(Number(await page.getByTestId("chart-uptime").getAttribute("data-points"))).toBeGreaterThanOrEqual(
      1,
    );
    expect(await page.getByTestId("chart-uptime").getByRole("img").getAttribute("aria-label")).toContain(
      "uptime %",
    );
    expect(await page.getByTestId("chart-tasks-agent").getAttribute("data-points")).toBe("1");
    expect(await page.getByTestId("analytics-summary").textContent()).toMatch(/\d+ tasks/);
    await screenshot(page, "analytics-charts");
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  test("chat: colour by sender type, and a message sent from the page appears live", async () => {
    await m.call("POST", "/api/messages", { channel: "colours", content: "from the operator" });
    await m.call(
      "POST",
      "/api/messages",
      { channel: "colours", content: "from an agent" },
      { "x-m3shd-agent": "local-jobs" },
    );
    const { context, page } = await newPage(browser);
    await login(page, m.url, "user");
    await page.getByTestId("nav-chat").click();
    await filter(page, "chat-channel", "colours");
    await expect.poll(() => page.getByTestId("chat-message").count()).toBe(2);
    await page.getByTestId("chat-input").fill("from a person");
    await page.getByTestId("chat-send").click();
    await expect.poll(() => page.getByTestId("chat-message").count()).toBe(3);
    expect(await page.getByTestId("chat-input").inputValue()).toBe("");
    const messages = await page.getByTestId("chat-message").evaluateAll((items) =>
      items.map((li) => ({
        text: li.querySelector("p")?.textContent ?? "",
        kind: li.className,
        colour: li.ownerDocument.defaultView?.getComputedStyle(li).borderLeftColor ?? "",
      })),
    );
    const byText = (t: string) => messages.find((x) => x.text === t);
    expect(byText("from the operator")?.kind).toContain("from-operator");
    expect(byText("from an agent")?.kind).toContain("from-agent");
    expect(byText("from a person")?.kind).toContain("from-user");
    // Three sender types, three colours (the theme's warn, accent and ok).
    expect(byText("from the operator")?.colour).toBe("rgb(210, 153, 34)");
    expect(byText("from an agent")?.colour).toBe("rgb(88, 166, 255)");
    expect(byText("from a person")?.colour).toBe("rgb(63, 185, 80)");
    const stored = await m.call("GET", "/api/messages?channel=colours");
    expect(
      (stored.body.messages as { content: string; from: string }[]).find((x) => x.content === "from a person")
        ?.from,
    ).toMatch(/^user:/);
    await screenshot(page, "chat-colours");
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });
});
