import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { INFRA, loadCompose, REPO } from "./lib/compose";
import { envOf, execForm, healthcheckOf, isPinned, last, parseDockerfile } from "./lib/dockerfile";

/**
 * Every image, checked without a Docker daemon (none here): one multi-stage Dockerfile per
 * deployable app, a pinned base, a non-root USER, a HEALTHCHECK against the service's health
 * endpoint, plain `node` running built JavaScript, and dev dependencies left behind.
 */

/** Deployable apps (the iMessage bridge ships a launchd plist; federation is not built yet). */
const APPS = ["hub", "dispatcher", "memory", "mcp", "worker"];
const DOCKERFILES = [
  ...readdirSync(join(INFRA, "docker"))
    .filter((f) => f.endsWith(".Dockerfile"))
    .map((f) => join(INFRA, "docker", f)),
  join(INFRA, "Dockerfile"),
];

describe("Dockerfiles", () => {
  it("one per deployable app, each app existing, plus the all-in-one image", () => {
    const names = readdirSync(join(INFRA, "docker")).filter((f) => f.endsWith(".Dockerfile"));
    expect(names.sort()).toEqual(APPS.map((a) => `${a}.Dockerfile`).sort());
    for (const app of APPS) expect(existsSync(join(REPO, "apps", app, "package.json")), app).toBe(true);
    expect(existsSync(join(REPO, "apps", "imessage-bridge"))).toBe(true);
    expect(existsSync(join(INFRA, "com.m3shd.imessage-bridge.plist"))).toBe(true);
  });

  it.each(DOCKERFILES.map((f) => [f.slice(REPO.length + 1), f]))(
    "%s: multi-stage, pinned bases, non-root, HEALTHCHECK, plain node, production dependencies only",
    (_name, path) => {
      const file = parseDockerfile(path);
      expect(file.stages.length, "multi-stage").toBeGreaterThanOrEqual(2);
      const names = new Set<string>();
      for (const stage of file.stages) {
        // A stage starts from a pinned image or from an earlier stage.
        expect(names.has(stage.from) || isPinned(stage.from), `FROM ${stage.from} is not pinned`).toBe(true);
        if (stage.name) names.add(stage.name);
      }
      const user = last(file.final, "USER")?.args ?? "";
      expect(user, "a USER in the final stage").not.toBe("");
      expect(user.split(":")[0], "not root").not.toMatch(/^(root|0)$/);
      // USER comes after the last RUN, so nothing after it runs as root either.
      const index = (k: string) => file.final.instructions.lastIndexOf(last(file.final, k) as never);
      expect(index("USER")).toBeGreaterThan(index("RUN"));

      const health = healthcheckOf(file);
      expect(health, "HEALTHCHECK CMD in exec form").not.toBeNull();
      expect(health?.[0]).toBe("node");
      expect(health?.[1]).toBe("/app/healthcheck.mjs");
      const cmd = execForm(last(file.final, "CMD")?.args ?? "");
      expect(cmd?.[0], "CMD runs plain node").toBe("node");
      expect(cmd?.[1]).toBe("dist/index.js");

      // The runtime stage has no compilers and no pnpm: only the build stage installs them.
      const runtimeRuns = file.final.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args);
      expect(runtimeRuns.join("\n")).not.toMatch(/apt-get install|pnpm|npm install/);
      const build = file.stages.slice(0, -1).flatMap((s) => s.instructions.map((i) => i.args));
      expect(build.join("\n")).toMatch(/deploy --prod/);
      expect(build.join("\n")).toMatch(/--frozen-lockfile/);
      expect(envOf(file.final).NODE_ENV).toBe("production");
    },
  );

  it("each HEALTHCHECK probes the port or file its service uses", () => {
    const probes: Record<string, [string, string | undefined]> = {};
    for (const app of APPS) {
      const file = parseDockerfile(join(INFRA, "docker", `${app}.Dockerfile`));
      const health = healthcheckOf(file) ?? [];
      const env = envOf(file.final);
      probes[app] = [health.slice(2).join(" "), Object.entries(env).find(([k]) => k.endsWith("_PORT"))?.[1]];
    }
    expect(probes.hub).toEqual(["http://127.0.0.1:7700/api/health", "7700"]);
    expect(probes.dispatcher).toEqual(["http://127.0.0.1:7701/health", "7701"]);
    expect(probes.memory).toEqual(["http://127.0.0.1:7710/health", "7710"]);
    expect(probes.mcp).toEqual(["http://127.0.0.1:7720/.well-known/oauth-protected-resource", "7720"]);
    const worker = parseDockerfile(join(INFRA, "docker", "worker.Dockerfile"));
    expect(probes.worker?.[0]).toBe(`--file ${envOf(worker.final).M3SHD_HEALTH_FILE} --max-age 45`);
  });

  it("the build context leaves out dependencies, builds, data and secrets", () => {
    const ignore = readFileSync(join(REPO, ".dockerignore"), "utf8");
    for (const entry of ["**/node_modules", "**/dist", ".git", "data", "infra/secrets"]) {
      expect(ignore.split("\n")).toContain(entry);
    }
    expect(isPinned("node:20")).toBe(false);
    expect(isPinned("node:latest")).toBe(false);
    expect(isPinned("redis")).toBe(false);
    expect(isPinned("redis:7.4.2-bookworm")).toBe(true);
    expect(isPinned(`node@sha256:${"a".repeat(64)}`)).toBe(true);
  });

  it("compose builds every app image from its Dockerfile and pins the images it pulls", () => {
    const { compose } = loadCompose();
    const built = Object.values(compose.services).flatMap((s) => (s.build ? [s.build.dockerfile] : []));
    expect(built.sort()).toEqual(APPS.map((a) => `infra/docker/${a}.Dockerfile`).sort());
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) continue;
      const image = service.image ?? "";
      const builtHere = Object.values(compose.services).some((s) => s.build && s.image === image);
      expect(builtHere || isPinned(image), `${name}: ${image}`).toBe(true);
    }
  });
});
