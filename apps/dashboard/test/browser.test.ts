import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
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
 * The "Done when" flows in a real Chromium against a real mesh (hub + dispatcher on
 * SQLite) with a real `jobs` worker process. Every assertion waits for an element and checks its
 * content: a missing element fails the test, it never skips a step.
 */

let m: DashboardMesh;
let browser: Browser;

beforeAll(async () => {
  m = await startDashboardMesh();
  browser = await launchBrowser();
  // A template the chips offer: text_stats is a deterministic job the local worker runs at once.
  const tpl = await m.call("POST", "/api/templates", {
    name: "stats",
    description: "Word and character counts",
    prompt_template: "{text}",
    capability: "text_stats",
  });
  expect(tpl.status).toBe(201);
  // An agent the test drives by hand, for streamed output and approvals.
  const reg = await m.call("POST", "/api/agents/manual-agent/register", {
    capabilities: ["manual"],
    max_concurrent: 2,
  });
  expect(reg.status).toBe(200);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await m?.close();
});

describe("dashboard in a real browser", () => {
  test("log in, see the fleet: the worker's card and the summary bar", async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${m.url}/`);
    await page.getByTestId("login-username").fill("ops-admin");
    await page.getByTestId("login-password").fill("wrong-password-123");
    await page.getByTestId("login-submit").click();
    await expect
      .poll(() => page.getByTestId("login-error").textContent())
      .toContain("Wrong username or password");
    pageErrors(page).length = 0; // the refused login above logs its 401; nothing else may fail
    await login(page, m.url, "admin");
    const card = page.getByTestId("agent-card-local-jobs");
    await card.waitFor();
    expect(await card.getByTestId("agent-status").textContent()).toMatch(/online|busy/);
    expect(await card.getByTestId("agent-slots").textContent()).toMatch(/\/4 slots/);
    expect(await card.textContent()).toContain("text_stats");
    await expect
      .poll(async () => Number(await page.getByTestId("summary-online").textContent()))
      .toBeGreaterThan(0);
    await page.getByTestId("agent-card-manual-agent").waitFor();
    await screenshot(page, "fleet");
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  test("dispatch from a template chip: the card moves to done and the output appears without a reload", async () => {
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    await page.getByTestId("nav-tasks").click();
    await page.getByTestId("kanban").waitFor();
    // A marker on the window survives only if the page is never reloaded.
    await page.evaluate(() => Object.assign(globalThis, { m3shdMarker: 42 }));
    await page.getByTestId("template-chip-stats").click();
    await page.getByTestId("template-var-text").fill("one two three four five");
    await page.getByTestId("template-dispatch").click();
    const notice = await page.getByTestId("tasks-notice").textContent();
    const id = /task_[A-Za-z0-9]+/.exec(notice ?? "")?.[0];
    expect(id, `notice: ${notice}`).toBeTruthy();
    const doneCard = page.getByTestId("column-done").getByTestId(`task-card-${id}`);
    await doneCard.waitFor({ timeout: 20_000 });
    expect(await doneCard.getAttribute("data-status")).toBe("done");
    await screenshot(page, "tasks");
    await doneCard.getByRole("link").click();
    await page.getByTestId("task-detail").waitFor();
    await expect.poll(() => page.getByTestId("task-output").textContent()).toMatch(/"words":\s*5/);
    // The provenance verdict, with the Merkle inclusion proof recomputed in the browser.
    await page.locator('[data-testid="provenance"][data-state="verified"]').waitFor();
    expect(await page.getByTestId("provenance-verdict").textContent()).toMatch(/Verified in this browser/);
    expect(await page.getByTestId("assignment-winner").textContent()).toBe("local-jobs");
    expect(await page.evaluate(() => (globalThis as { m3shdMarker?: number }).m3shdMarker), "no reload").toBe(
      42,
    );
    await screenshot(page, "task-detail");
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  test("streamed output shows live on the task page, chunk by chunk", async () => {
    const created = await m.call("POST", "/api/tasks", {
      title: "streamed",
      prompt: "stream please",
      required_capability: "manual",
    });
    const id = (created.body.task as { id: string }).id;
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    await page.goto(`${m.url}/#/task/${id}`);
    await page.getByTestId("task-detail").waitFor();
    const claimed = await until(
      async () => {
        const r = await m.call("GET", "/api/agents/manual-agent/tasks/next?wait=1");
        return r.status === 200 ? r : null;
      },
      15_000,
      "the manual task to be claimed",
    );
    if (!claimed) throw new Error("not claimed");
    expect((claimed.body.task as { id: string }).id).toBe(id);
    // Every write of this execution carries the claim's attempt (the hub fences stale ones).
    const attempt = (claimed.body as { attempt?: number }).attempt ?? 1;
    const agent = { "x-m3shd-agent": "manual-agent" };
    for (const [seq, content] of ["alpha ", "beta ", "gamma"].entries()) {
      const r = await m.call("POST", `/api/tasks/${id}/stream`, { seq, content, attempt }, agent);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      await expect.poll(() => page.getByTestId("task-output").textContent()).toContain(content.trim());
    }
    const done = await m.call(
      "PUT",
      `/api/tasks/${id}`,
      { status: "done", output: "alpha beta gamma", attempt },
      agent,
    );
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    await page.locator('[data-testid="task-detail"][data-status="done"]').waitFor();
    await page.locator('[data-testid="provenance"][data-state="verified"]').waitFor();
    await context.close();
  });

  test("approve a pending approval in one tap", async () => {
    const res = await m.call(
      "POST",
      "/api/approvals",
      { action: "deploy", description: "ship build 42" },
      { "x-m3shd-agent": "manual-agent" },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const id = (res.body.approval as { id: string }).id;
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    await page.getByTestId("nav-approvals").click();
    await page.getByTestId(`approval-${id}`).waitFor();
    await screenshot(page, "approvals");
    await page.getByTestId(`approve-${id}`).click();
    await page.getByTestId(`approval-${id}`).waitFor({ state: "detached" });
    const after = await m.call("GET", `/api/approvals/${id}`);
    expect((after.body.approval as { status: string }).status).toBe("approved");
    await context.close();
  });

  test("a viewer sees no action buttons, and a forced write is refused", async () => {
    const pending = await m.call(
      "POST",
      "/api/approvals",
      { action: "deploy", description: "viewer must not approve" },
      { "x-m3shd-agent": "manual-agent" },
    );
    const approvalId = (pending.body.approval as { id: string }).id;
    const { context, page } = await newPage(browser);
    await login(page, m.url, "viewer");
    await page.getByTestId("nav-tasks").click();
    await page.getByTestId("kanban").waitFor();
    expect(await page.getByTestId("template-chips").count()).toBe(0);
    expect(await page.getByTestId("create-task-open").count()).toBe(0);
    expect(await page.getByTestId("nav-analytics").count()).toBe(0);
    await page.getByTestId("nav-approvals").click();
    await page.getByTestId(`approval-${approvalId}`).waitFor();
    expect(await page.getByTestId(`approve-${approvalId}`).count()).toBe(0);
    expect(await page.getByTestId(`reject-${approvalId}`).count()).toBe(0);
    await page.getByTestId("nav-chat").click();
    await page.getByTestId("chat-view").waitFor();
    expect(await page.getByTestId("chat-send").count()).toBe(0);
    // The server refuses anyway: a hand-made request with the session cookie and CSRF token.
    const statuses = await page.evaluate(async (approval) => {
      // Runs in the page (DOM), typed here without the DOM library.
      const { cookie } = (globalThis as unknown as { document: { cookie: string } }).document;
      const csrf = /m3shd_csrf=([^;]+)/.exec(cookie)?.[1] ?? "";
      const headers = { "content-type": "application/json", "x-csrf-token": decodeURIComponent(csrf) };
      const task = await fetch("/api/tasks", {
        method: "POST",
        headers,
        body: JSON.stringify({ title: "x", prompt: "x", required_capability: "echo" }),
      });
      const decide = await fetch(`/api/approvals/${approval}`, {
        method: "PUT",
        headers,
        body: JSON.stringify({ decision: "approved" }),
      });
      return [task.status, decide.status, csrf.length > 0];
    }, approvalId);
    expect(statuses).toEqual([403, 403, true]);
    await screenshot(page, "viewer-approvals");
    await context.close();
  });

  test("the event stream is cut: it resumes from Last-Event-ID with no event missed", async () => {
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    await page.getByTestId("nav-logs").click();
    await page.locator('[data-testid="conn-state"][data-state="open"]').waitFor();
    const before = await m.call("POST", "/api/tasks", {
      title: "before",
      prompt: "p",
      required_capability: "manual",
    });
    const beforeId = (before.body.task as { id: string }).id;
    await page.locator(`[data-testid="log-row"][data-type="task_created"]:has-text("${beforeId}")`).waitFor();
    // Cut every stream on the server, then publish while the browser is away (it waits 1 s).
    m.mesh.hub.streamHub.closeAll();
    const during: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await m.call("POST", "/api/tasks", {
        title: `gap ${i}`,
        prompt: "p",
        required_capability: "manual",
      });
      during.push((r.body.task as { id: string }).id);
    }
    await page.locator('[data-testid="conn-state"][data-state="reconnecting"]').waitFor({ timeout: 5000 });
    await page.locator('[data-testid="conn-state"][data-state="open"]').waitFor({ timeout: 10_000 });
    expect(
      Number(await page.getByTestId("conn-state").getAttribute("data-reconnects")),
    ).toBeGreaterThanOrEqual(1);
    for (const id of during) {
      await page.locator(`[data-testid="log-row"][data-type="task_created"]:has-text("${id}")`).waitFor();
    }
    // Each event exactly once: the replay did not duplicate what was seen before the cut.
    const ids = await page
      .locator('[data-testid="log-row"]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-event-id")));
    expect(new Set(ids).size).toBe(ids.length);
    const created = await page
      .locator('[data-testid="log-row"][data-type="task_created"]')
      .evaluateAll((rows) => rows.map((r) => r.textContent ?? ""));
    for (const id of [beforeId, ...during]) expect(created.filter((t) => t.includes(id))).toHaveLength(1);
    await screenshot(page, "logs");
    await context.close();
  });

  test("with the event stream blocked, the dashboard says so and keeps up by polling", async () => {
    const { context, page } = await newPage(browser);
    await page.route("**/api/stream**", (route) => route.abort());
    await login(page, m.url, "admin");
    await page.locator('[data-testid="conn-state"][data-state="polling"]').waitFor({ timeout: 15_000 });
    await page.getByTestId("nav-tasks").click();
    await page.getByTestId("kanban").waitFor();
    const r = await m.call("POST", "/api/tasks", {
      title: "polled",
      prompt: "p",
      required_capability: "manual",
    });
    const id = (r.body.task as { id: string }).id;
    await page.getByTestId(`task-card-${id}`).waitFor({ timeout: 15_000 });
    await context.close();
  });

  test("every view renders (screenshots as artifacts); the 3D view loads only on demand", async () => {
    const { context, page } = await newPage(browser, { width: 390, height: 844 });
    const requested: string[] = [];
    page.on("request", (r) => requested.push(new URL(r.url()).pathname));
    await login(page, m.url, "admin");
    await page.getByTestId("fleet-view").waitFor();
    await screenshot(page, "fleet-mobile");
    expect(requested.some((p) => p.includes("3d-force-graph") || p.includes("/mesh-"))).toBe(false);
    await m.call("POST", "/api/messages", { channel: "general", content: "hello from the operator" });
    await page.getByTestId("nav-chat").click();
    await expect
      .poll(() => page.getByTestId("chat-messages").textContent())
      .toContain("hello from the operator");
    await screenshot(page, "chat");
    await page.getByTestId("nav-analytics").click();
    await page.getByTestId("analytics-view").waitFor();
    await page.getByTestId("chart-tasks-day").locator("canvas").first().waitFor();
    await screenshot(page, "analytics");
    await page.getByTestId("nav-mesh").click();
    await page.getByTestId("mesh-view").waitFor();
    const mode = await page.getByTestId("mesh-view").getAttribute("data-mode");
    await page.getByTestId(mode === "3d" ? "mesh-3d" : "mesh-2d").waitFor();
    await screenshot(page, "mesh");
    expect(requested.some((p) => p.includes("/assets/mesh-"))).toBe(true);
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });
});
