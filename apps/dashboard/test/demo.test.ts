import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  type DashboardMesh,
  launchBrowser,
  newPage,
  pageErrors,
  screenshot,
  startDashboardMesh,
  until,
} from "./harness";

/** `M3SHD_DEMO=1`: the public dashboard at /demo, in a real browser against a real mesh and worker. */

let m: DashboardMesh;
let browser: Browser;
let taskId = "";
const SECRET = "the launch codes are 0000";

beforeAll(async () => {
  m = await startDashboardMesh({ hub: { dashboard: { demo: true } } });
  browser = await launchBrowser();
  const created = await m.call("POST", "/api/tasks", {
    title: "demo stats",
    prompt: SECRET,
    required_capability: "text_stats",
  });
  expect(created.status).toBe(201);
  taskId = (created.body.task as { id: string }).id;
  await until(
    async () => {
      const r = await m.call("GET", `/api/tasks/${taskId}`);
      return (r.body.task as { status: string }).status === "done";
    },
    20_000,
    "the demo task to finish",
  );
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await m?.close();
});

describe("demo mode in a real browser", () => {
  test("shows the fleet and tasks without a login, with prompts and outputs redacted, and cannot write", async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${m.url}/demo`);
    await page.getByTestId("agent-card-local-jobs").waitFor();
    expect(await page.getByTestId("logout").count()).toBe(0);
    expect(await page.getByTestId("nav-approvals").count()).toBe(0);
    await screenshot(page, "demo-fleet");
    await page.getByTestId("nav-tasks").click();
    const card = page.getByTestId("column-done").getByTestId(`task-card-${taskId}`);
    await card.waitFor();
    expect(await page.getByTestId("create-task-open").count()).toBe(0);
    await card.getByRole("link").click();
    await page.getByTestId("task-detail").waitFor();
    expect(await page.getByTestId("task-prompt").textContent()).toBe("[redacted]");
    expect(await page.getByTestId("task-output").textContent()).toBe("[redacted]");
    expect(await page.content()).not.toContain("launch codes");
    expect(await page.getByTestId("task-cancel").count()).toBe(0);
    await screenshot(page, "demo-task");
    // Nothing writes from here: no write route under /demo, no credentials for /api.
    const statuses = await page.evaluate(async (id) => {
      const post = (url: string) =>
        fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).then(
          (r) => r.status,
        );
      return [
        await post("/demo/api/tasks"),
        await post(`/demo/api/tasks/${id}/cancel`),
        await post("/api/tasks"),
        await post(`/api/tasks/${id}/cancel`),
      ];
    }, taskId);
    expect(statuses).toEqual([404, 404, 401, 401]);
    expect(pageErrors(page).filter((e) => !/status of 40[14]/.test(e))).toEqual([]);
    await context.close();
  });
});
