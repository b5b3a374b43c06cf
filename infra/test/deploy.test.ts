import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { INFRA, loadCompose } from "./lib/compose";
import { runCommand } from "./lib/topology";

/**
 * infra/deploy.sh, run with --dry-run (no Docker daemon here): the plan it prints is checked step
 * by step — gate before build, images kept for rollback, services rolled one at a time in
 * dependency order with a health check after each — and, with a simulated failure, the rollback.
 */

const SCRIPT = join(INFRA, "deploy.sh");
const { compose } = loadCompose();

interface Step {
  title: string;
  commands: string[];
}

function steps(output: string): Step[] {
  const out: Step[] = [];
  for (const line of output.split("\n")) {
    const title = /^step \d+: (.*)$/.exec(line)?.[1];
    if (title) out.push({ title, commands: [] });
    else if (line.startsWith("+ ")) out.at(-1)?.commands.push(line.slice(2));
  }
  return out;
}

const rollsOf = (plan: Step[]) =>
  plan.filter((s) => s.title.startsWith("roll ")).map((s) => s.title.slice(5));

describe("infra/deploy.sh --dry-run", () => {
  it("gates on the tests, keeps the running images, builds, then rolls one service at a time with a health check after each", async () => {
    const run = await runCommand(["sh", SCRIPT, "--dry-run"]);
    expect(run.code, run.output).toBe(0);
    const plan = steps(run.output);
    const titles = plan.map((s) => s.title);
    expect(titles[0]).toBe("test gate");
    expect(plan[0]?.commands).toEqual([
      "pnpm install --frozen-lockfile",
      "pnpm lint",
      "pnpm typecheck",
      "pnpm test",
    ]);
    const at = (t: string) => titles.indexOf(t);
    expect(at("test gate")).toBeLessThan(at("build images"));
    expect(at("keep the running images as :previous")).toBeLessThan(at("build images"));
    expect(plan[at("keep the running images as :previous")]?.commands).toHaveLength(5);
    expect(at("build images")).toBeLessThan(at("roll memory"));
    expect(titles.at(-1)).toBe("done");

    // Every long-running service is rolled, exactly once, each alone and health-checked.
    const rolled = rollsOf(plan);
    const services = Object.keys(compose.services).filter((s) => s !== "redis" && s !== "worker-tokens");
    expect([...rolled].sort()).toEqual(services.sort());
    for (const service of rolled) {
      const step = plan.find((s) => s.title === `roll ${service}`);
      expect(step?.commands[0]).toMatch(new RegExp(`up -d --no-deps --wait --wait-timeout \\d+ ${service}$`));
      expect(step?.commands[1]).toContain(`ps -q ${service})`);
      expect(step?.commands).toHaveLength(2);
    }
    // Dependencies first: each service's depends_on (other than redis and the tokens one-shot,
    // which come before any roll) is rolled before it.
    for (const [index, service] of rolled.entries()) {
      for (const dep of Object.keys(compose.services[service]?.depends_on ?? {})) {
        if (dep === "redis") expect(at("redis")).toBeLessThan(at(`roll ${service}`));
        else if (dep === "worker-tokens") expect(at("worker tokens")).toBeLessThan(at(`roll ${service}`));
        else expect(rolled.indexOf(dep), `${dep} before ${service}`).toBeLessThan(index);
      }
    }
  });

  it("rolls back every service rolled so far, newest first, when one does not turn healthy", async () => {
    const run = await runCommand(["sh", SCRIPT, "--dry-run", "--skip-tests"], {
      env: { ...process.env, M3SHD_DEPLOY_SIMULATE_FAIL: "dispatcher" },
    });
    expect(run.code).toBe(1);
    expect(run.output).toContain("dispatcher did not turn healthy");
    const plan = steps(run.output);
    expect(plan.map((s) => s.title)).not.toContain("test gate");
    expect(rollsOf(plan)).toEqual([
      "memory",
      "hub",
      "dispatcher",
      "back to the :previous images",
      "back dispatcher",
      "back hub",
      "back memory",
    ]);
    const back = plan.find((s) => s.title === "roll back to the :previous images");
    expect(back?.commands).toContain("docker image tag m3shd/dispatcher:previous m3shd/dispatcher:local");
    expect(back?.commands).toHaveLength(5);
    expect(plan.find((s) => s.title === "roll back hub")?.commands[0]).toMatch(/--wait .* hub$/);
    expect(run.output).not.toContain("roll mcp");
  });

  it("refuses unknown arguments", async () => {
    expect((await runCommand(["sh", SCRIPT, "--yolo"])).code).toBe(2);
  });
});
