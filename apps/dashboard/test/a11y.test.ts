import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import {
  createTask,
  type DashboardMesh,
  launchBrowser,
  login,
  type ManualAgent,
  newPage,
  pageErrors,
  screenshot,
  screenshotBytes,
  startDashboardMesh,
  until,
} from "./harness";

/**
 * Accessibility (keyboard, accessible names, touch targets, reduced motion), the mesh view without
 * WebGL, and the PWA's service worker, in a real Chromium against one real mesh. Agents are driven
 * by the test, so every assignment (a particle in the mesh view) happens when the test says.
 */

let m: DashboardMesh;
let browser: Browser;
let agent: ManualAgent;
let doneTask = "";

/** Makes `getContext('webgl' | 'webgl2' | 'experimental-webgl')` answer null, as a browser without WebGL does. */
const NO_WEBGL = `(() => {
  const original = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
    if (/webgl/i.test(String(type))) return null;
    return original.call(this, type, ...rest);
  };
})();`;

beforeAll(async () => {
  m = await startDashboardMesh({ worker: false });
  browser = await launchBrowser();
  agent = await m.agent("a11y-agent", ["a11y"], 8);
  // Something in every view: a finished task with output, a pending approval, a template, a message.
  doneTask = await createTask(m, { title: "finished", prompt: "count", required_capability: "a11y" });
  const attempt = await agent.claim(doneTask);
  await agent.stream(doneTask, attempt, 0, "streamed ");
  await agent.finish(doneTask, attempt, { output: "all done" });
  const approval = await m.call(
    "POST",
    "/api/approvals",
    { action: "deploy", description: "ship it" },
    { "x-m3shd-agent": agent.id },
  );
  expect(approval.status).toBe(201);
  const tpl = await m.call("POST", "/api/templates", {
    name: "greet",
    prompt_template: "Say hello to {name}",
    capability: "a11y",
  });
  expect(tpl.status).toBe(201);
  await m.call("POST", "/api/messages", { channel: "general", content: "hello, operators" });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await m?.close();
});

/** The `data-testid` (or tag) of the focused element. */
const focused = (page: Page) =>
  page.locator("html").evaluate((html) => {
    const el = html.ownerDocument.activeElement;
    return el ? (el.getAttribute("data-testid") ?? el.tagName.toLowerCase()) : null;
  });

/** The page's location hash (the app's route). */
const hash = (page: Page) =>
  page.locator("html").evaluate((html) => html.ownerDocument.location.hash as string);

const INTERACTIVE_ROLES = new Set([
  "button",
  "link",
  "textbox",
  "searchbox",
  "combobox",
  "listbox",
  "checkbox",
  "radio",
  "spinbutton",
  "slider",
  "switch",
  "tab",
  "menuitem",
]);

/**
 * Chromium's own accessibility tree (CDP): every interactive node and its computed accessible
 * name (label, aria-label, content…), exactly what a screen reader is given.
 */
async function accessibleControls(
  context: BrowserContext,
  page: Page,
): Promise<{ role: string; name: string }[]> {
  const cdp = await context.newCDPSession(page);
  try {
    const { nodes } = await cdp.send("Accessibility.getFullAXTree");
    return nodes
      .filter((n) => !n.ignored && INTERACTIVE_ROLES.has(String(n.role?.value)))
      .map((n) => ({ role: String(n.role?.value), name: String(n.name?.value ?? "").trim() }));
  } finally {
    await cdp.detach();
  }
}

const CONTROLS =
  'button, a[href], input:not([type="hidden"]), select, textarea, summary, [role="button"], [tabindex]:not([tabindex="-1"])';

/** Every rendered control's box (a 1 px visually-hidden element, such as the idle skip link, is not rendered as a target). */
function controlBoxes(page: Page) {
  return page.locator(CONTROLS).evaluateAll((els) =>
    els
      .map((el) => {
        const r = el.getBoundingClientRect();
        const style = el.ownerDocument.defaultView?.getComputedStyle(el);
        return {
          what:
            el.getAttribute("data-testid") ??
            `${el.tagName.toLowerCase()} "${(el.textContent ?? "").trim().slice(0, 30)}"`,
          width: Math.round(r.width * 10) / 10,
          height: Math.round(r.height * 10) / 10,
          shown: r.width > 1 && r.height > 1 && style?.visibility !== "hidden" && style?.display !== "none",
        };
      })
      .filter((b) => b.shown),
  );
}

/** Waits `frames` animation frames in the page (for "nothing moved meanwhile" checks). */
const frames = (page: Page, n: number) =>
  page.locator("html").evaluate(
    (html, count) =>
      new Promise<void>((resolve) => {
        const win = html.ownerDocument.defaultView;
        let left = count;
        const next = () => (--left <= 0 ? resolve() : win?.requestAnimationFrame(next));
        win?.requestAnimationFrame(next);
      }),
    n,
  );

/** The 2D canvas as an image (to compare frames) and how many of its pixels are painted. */
const canvasState = (page: Page) =>
  page.getByTestId("mesh-2d").evaluate((canvas) => {
    const ctx = canvas.getContext("2d");
    const data = ctx?.getImageData(0, 0, canvas.width, canvas.height).data ?? [];
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
    return { image: canvas.toDataURL() as string, painted, width: canvas.width as number };
  });

describe("accessibility in a real browser", () => {
  test("keyboard: Tab walks the header and the nav, Enter opens a view, the skip link focuses the content", async () => {
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    // A fresh load, so focus navigation starts at the top of the document.
    await page.reload();
    await page.getByTestId("fleet-view").waitFor();
    const path: (string | null)[] = [];
    for (let i = 0; i < 20 && path.at(-1) !== "nav-tasks"; i++) {
      await page.keyboard.press("Tab");
      path.push(await focused(page));
    }
    expect(path).toEqual(["skip-link", "logout", "nav-fleet", "nav-tasks"]);
    await page.keyboard.press("Enter");
    await page.getByTestId("tasks-view").waitFor();
    expect(await hash(page)).toBe("#/tasks");
    expect(await page.getByTestId("nav-tasks").getAttribute("aria-current")).toBe("page");

    // The skip link: on screen and full size when focused; it moves focus to the content and
    // leaves the route alone (following `#main` would have left the tasks view).
    await page.getByTestId("skip-link").focus();
    const skip = await page.getByTestId("skip-link").boundingBox();
    expect(skip?.height).toBeGreaterThanOrEqual(44);
    await page.keyboard.press("Enter");
    expect(await focused(page)).toBe("main");
    expect(await hash(page)).toBe("#/tasks");
    await page.getByTestId("tasks-view").waitFor();

    // Controls in the view answer the keyboard too: the "+ New task" chip opens the form.
    await page.getByTestId("kanban").waitFor();
    for (let i = 0; i < 30 && (await focused(page)) !== "create-task-open"; i++)
      await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("create-task-open");
    await page.keyboard.press("Enter");
    await page.getByTestId("create-task-form").waitFor();
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("create-title");
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  test("every view on a phone: each control has an accessible name and a 44 px touch target (screenshots)", async () => {
    const { context, page } = await newPage(browser, { width: 390, height: 844 });
    const problems: string[] = [];
    const check = async (view: string) => {
      const controls = await accessibleControls(context, page);
      expect(controls.length, `${view}: no control found`).toBeGreaterThan(0);
      for (const c of controls) if (!c.name) problems.push(`${view}: a ${c.role} without an accessible name`);
      const boxes = await controlBoxes(page);
      expect(boxes.length, `${view}: no control rendered`).toBeGreaterThan(0);
      for (const b of boxes) {
        if (b.width < 44 || b.height < 44) problems.push(`${view}: ${b.what} is ${b.width}×${b.height} px`);
      }
      await screenshot(page, `view-${view}-mobile`);
      expect(screenshotBytes(`view-${view}-mobile`), view).toBeGreaterThan(1000);
    };

    await page.goto(`${m.url}/`);
    await page.getByTestId("login-view").waitFor();
    await check("login");
    await login(page, m.url, "admin");
    const views: [string, string, () => Promise<void>][] = [
      ["fleet", "fleet-view", () => page.getByTestId(`agent-card-${agent.id}`).waitFor()],
      [
        "tasks",
        "tasks-view",
        async () => {
          await page.getByTestId("template-chip-greet").click();
          await page.getByTestId("template-form").waitFor();
          await page.getByTestId("create-task-open").click();
          await page.getByTestId("create-task-form").waitFor();
        },
      ],
      ["chat", "chat-view", () => page.getByTestId("chat-message").first().waitFor()],
      ["logs", "logs-view", () => page.locator('[data-testid="conn-state"][data-state="open"]').waitFor()],
      ["approvals", "approvals-view", () => page.locator('[data-testid^="approve-"]').first().waitFor()],
      [
        "analytics",
        "analytics-view",
        () => page.getByTestId("chart-uptime").locator("canvas").first().waitFor(),
      ],
      ["mesh", "mesh-view", () => page.locator('[data-testid="mesh-view"] .graph[data-nodes]').waitFor()],
    ];
    for (const [view, testid, ready] of views) {
      await page.getByTestId(`nav-${view}`).click();
      await page.getByTestId(testid).waitFor();
      await ready();
      await check(view);
    }
    await page.goto(`${m.url}/#/task/${doneTask}`);
    await page.locator('[data-testid="provenance"][data-state="verified"]').waitFor();
    await check("task-detail");
    expect(problems).toEqual([]);
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });

  test("reduced motion: no CSS transition, and the 2D mesh draws still frames with no particle", async () => {
    const { context, page } = await newPage(browser, { reducedMotion: "reduce" });
    await page.addInitScript({ content: NO_WEBGL });
    await login(page, m.url, "admin");
    expect(
      await page
        .getByTestId("nav-tasks")
        .evaluate((a) => a.ownerDocument.defaultView?.getComputedStyle(a).transitionDuration),
    ).toBe("0s");
    await page.getByTestId("nav-mesh").click();
    const graph = page.getByTestId("mesh-2d");
    await graph.waitFor();
    await expect.poll(() => graph.getAttribute("data-animating")).toBe("false");
    const before = Number(await graph.getAttribute("data-assignments"));
    await page.locator('[data-testid="conn-state"][data-state="open"]').waitFor();
    await createTask(m, { title: "still", required_capability: "a11y" });
    // The assignment is seen, but nothing travels and nothing drifts.
    await expect.poll(async () => Number(await graph.getAttribute("data-assignments"))).toBe(before + 1);
    expect(await graph.getAttribute("data-particles")).toBe("0");
    const a = await canvasState(page);
    await frames(page, 20);
    const b = await canvasState(page);
    expect(a.painted).toBeGreaterThan(500);
    expect(b.image).toBe(a.image);
    await context.close();
  });

  test("no WebGL: the mesh view falls back to a 2D graph that draws the fleet and follows its events (motion allowed)", async () => {
    const { context, page } = await newPage(browser, { reducedMotion: "no-preference" });
    await page.addInitScript({ content: NO_WEBGL });
    const requested: string[] = [];
    page.on("request", (r) => requested.push(new URL(r.url()).pathname));
    await login(page, m.url, "admin");
    expect(
      await page
        .getByTestId("nav-tasks")
        .evaluate((a) => a.ownerDocument.defaultView?.getComputedStyle(a).transitionDuration),
    ).toContain("0.15s");
    await page.getByTestId("nav-mesh").click();
    await page.locator('[data-testid="mesh-view"][data-mode="2d"]').waitFor();
    const graph = page.getByTestId("mesh-2d");
    await graph.waitFor();
    expect(await page.getByTestId("mesh-3d").count()).toBe(0);
    const agents = (await m.call("GET", "/api/agents")).body.agents as unknown[];
    await expect.poll(() => graph.getAttribute("data-nodes")).toBe(String(agents.length + 1));
    await expect.poll(() => graph.getAttribute("data-animating")).toBe("true");
    const drawn = await canvasState(page);
    expect(drawn.width).toBeGreaterThan(300);
    expect(drawn.painted).toBeGreaterThan(500); // the hub, the agents, their links and labels
    await page.locator('[data-testid="conn-state"][data-state="open"]').waitFor();

    // An assignment sends a particle hub → agent.
    const particles = Number(await graph.getAttribute("data-particles"));
    await createTask(m, { title: "moving", required_capability: "a11y" });
    await expect.poll(async () => Number(await graph.getAttribute("data-particles"))).toBe(particles + 1);
    expect(Number(await graph.getAttribute("data-assignments"))).toBeGreaterThanOrEqual(1);
    const moving = await canvasState(page);
    await frames(page, 5);
    expect((await canvasState(page)).image).not.toBe(moving.image);

    // A new agent joins the graph without a reload.
    await m.agent("late-agent", ["late"], 2);
    await page.getByTestId("mesh-node-late-agent").waitFor({ state: "attached" }); // screen-reader only
    await expect.poll(() => graph.getAttribute("data-nodes")).toBe(String(agents.length + 2));
    await screenshot(page, "mesh-2d");
    // The 3D library is never fetched without WebGL.
    expect(requested.some((p) => p.includes("3d-force-graph"))).toBe(false);
    expect(pageErrors(page)).toEqual([]);
    await context.close();
  });
});

describe("the PWA in a real browser", () => {
  test("the service worker registers and controls the page, caches the shell, and never answers for /api", async () => {
    const { context, page } = await newPage(browser);
    await login(page, m.url, "admin");
    // The test tsconfig has no DOM library: the page's globals are reached through its document.
    const script = await page
      .locator("html")
      .evaluate(
        async (html) =>
          (await html.ownerDocument.defaultView.navigator.serviceWorker.ready).active?.scriptURL,
      );
    expect(script).toBe(`${m.url}/sw.js`);

    const responses: { path: string; fromServiceWorker: boolean }[] = [];
    page.on("response", (r) =>
      responses.push({ path: new URL(r.url()).pathname, fromServiceWorker: r.fromServiceWorker() }),
    );
    await page.reload();
    await page.getByTestId("fleet-view").waitFor();
    await page.getByTestId(`agent-card-${agent.id}`).waitFor();
    expect(
      await page
        .locator("html")
        .evaluate((html) => html.ownerDocument.defaultView.navigator.serviceWorker.controller?.scriptURL),
    ).toBe(`${m.url}/sw.js`);
    await page.getByTestId("nav-tasks").click();
    await page.getByTestId("kanban").waitFor();

    const api = responses.filter((r) => r.path.startsWith("/api/"));
    expect(api.length).toBeGreaterThan(2);
    expect(api.filter((r) => r.fromServiceWorker)).toEqual([]);
    // The control: the hashed shell files did come from the worker's cache.
    expect(
      responses.filter((r) => r.path.startsWith("/assets/") && r.fromServiceWorker).length,
    ).toBeGreaterThan(0);

    // What the cache holds: the shell, nothing of the API.
    const cached: string[] = await page.locator("html").evaluate(async (html) => {
      const { caches } = html.ownerDocument.defaultView;
      const urls: string[] = [];
      for (const key of await caches.keys()) {
        for (const req of await (await caches.open(key)).keys()) urls.push(new URL(req.url).pathname);
      }
      return urls;
    });
    expect(cached).toContain("/");
    expect(cached.some((u) => u.startsWith("/assets/app-"))).toBe(true);
    expect(cached.filter((u) => u.startsWith("/api") || u.startsWith("/demo"))).toEqual([]);

    // Offline, the shell still answers from the cache; an API call fails instead of a stale answer.
    const asset = cached.find((u) => u.startsWith("/assets/app-")) ?? "";
    await context.setOffline(true);
    const offline = await page.evaluate(async (a) => {
      const status = (url: string) =>
        fetch(url).then(
          (r) => r.status,
          () => "network error",
        );
      return { api: await status("/api/agents"), asset: await status(a) };
    }, asset);
    await context.setOffline(false);
    expect(offline).toEqual({ api: "network error", asset: 200 });
    await until(async () => (await page.evaluate(() => fetch("/api/agents").then((r) => r.status))) === 200);
    await context.close();
  });
});
