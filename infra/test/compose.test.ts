import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { bytesOf, COMPOSE_FILE, loadCompose, SCHEMA_FILE } from "./lib/compose";

/** infra/compose.yml against the Compose specification's JSON schema, and against our own rules. */

const SCHEMA_SHA256 = "1f91e091f16b2dd50ab8860e02bb391d22df553d91c145eacedb1b6eff9c3f0e";
const { raw, compose } = loadCompose();
const services = Object.entries(compose.services);
const apps = services.filter(([name]) => name !== "redis");

function validator() {
  // strict: false — the spec's schema uses keywords draft-07 does not define (`deprecated`).
  const ajv = new Ajv({ strict: false, allErrors: true });
  // The schema names its meta-schema by the https URL; ajv knows draft-07 by the http one.
  const draft7 = createRequire(import.meta.url)("ajv/dist/refs/json-schema-draft-07.json") as object;
  ajv.addMetaSchema({ ...draft7, $id: "https://json-schema.org/draft-07/schema" });
  return ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, "utf8")));
}

describe("infra/compose.yml", () => {
  it("is valid against the Compose specification's JSON schema (vendored, checksum pinned)", () => {
    const schemaBytes = readFileSync(SCHEMA_FILE);
    expect(createHash("sha256").update(schemaBytes).digest("hex")).toBe(SCHEMA_SHA256);
    const validate = validator();
    const ok = validate(raw);
    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(ok).toBe(true);
    // The validator is live: the same file with one wrong value fails.
    const broken = structuredClone(raw) as {
      services: { hub: { depends_on: { redis: { condition: string } } } };
    };
    broken.services.hub.depends_on.redis.condition = "when_it_feels_like_it";
    expect(validate(broken)).toBe(false);
    const typo = structuredClone(raw) as { services: { hub: Record<string, unknown> } };
    typo.services.hub.restart_policy = "always";
    expect(validate(typo)).toBe(false);
  });

  it("runs Redis, hub, dispatcher, memory, MCP, two jobs workers and backups; federation has its marked place", () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        "backup",
        "dispatcher",
        "hub",
        "mcp",
        "memory",
        "redis",
        "worker-1",
        "worker-2",
        "worker-tokens",
      ].sort(),
    );
    for (const worker of ["worker-1", "worker-2"]) {
      expect(compose.services[worker]?.environment?.M3SHD_PROVIDER).toBe("jobs");
    }
    expect(readFileSync(COMPOSE_FILE, "utf8")).toMatch(/Federation \(issue 16\) is not built yet/);
  });

  it("orders start-up by health (or completion), never by mere start", () => {
    for (const [name, service] of apps) {
      const deps = Object.entries(service.depends_on ?? {});
      expect(deps.length, `${name} depends on something`).toBeGreaterThan(0);
      for (const [dep, { condition }] of deps) {
        const wanted = dep === "worker-tokens" ? "service_completed_successfully" : "service_healthy";
        expect(condition, `${name} → ${dep}`).toBe(wanted);
        // A service_healthy dependency must have a healthcheck (its image's, or its own).
        if (wanted === "service_healthy")
          expect(compose.services[dep]?.healthcheck?.disable, `${dep} has a healthcheck`).not.toBe(true);
      }
    }
    expect(compose.services.redis?.healthcheck?.test).toEqual(["CMD", "redis-cli", "ping"]);
  });

  it("restarts, limits memory (the hub within 256 MB) and keeps root filesystems read-only", () => {
    for (const [name, service] of services) {
      expect(service.restart, name).toMatch(/^(unless-stopped|always|on-failure)$/);
      expect(service.mem_limit, name).toBeDefined();
      expect(service.read_only, name).toBe(true);
    }
    expect(bytesOf(compose.services.hub?.mem_limit ?? "")).toBeLessThanOrEqual(256 * 1024 ** 2);
    for (const [name, service] of apps) expect(service.tmpfs, name).toEqual(["/tmp"]);
    // The hub's heap is capped below its container limit.
    const heap = /--max-old-space-size=(\d+)/.exec(compose.services.hub?.environment?.NODE_OPTIONS ?? "");
    expect(Number(heap?.[1])).toBeLessThan(256);
  });

  it("passes secrets as files, never as values, and publishes ports on loopback only", () => {
    for (const [name, secret] of Object.entries(compose.secrets ?? {})) {
      expect(secret.file, name).toMatch(/^\.\/secrets\//);
    }
    for (const [name, service] of services) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (/TOKEN|KEY|PASSWORD|SECRET|KEK/.test(key)) {
          expect(key, `${name}: ${key} must be a *_FILE`).toMatch(/_FILE$/);
        }
        if (value.startsWith("/run/secrets/")) {
          expect(service.secrets, `${name} mounts ${value}`).toContain(value.slice("/run/secrets/".length));
        }
      }
      for (const port of service.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
  });

  it("shares one data volume between the services of one database", () => {
    const mounts = (name: string) => compose.services[name]?.volumes ?? [];
    for (const name of ["hub", "dispatcher", "memory", "backup"]) {
      expect(mounts(name), name).toContain("data:/var/lib/m3shd");
    }
    for (const name of ["mcp", "worker-1", "worker-2"])
      expect(mounts(name).join(), name).not.toContain("data:");
    expect(mounts("worker-1")).toContain("worker-tokens:/var/lib/m3shd-tokens:ro");
  });
});
