import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { PERMISSIONS, type Permission, ROLE_PRESETS, USER_ROLES } from "@m3shd/protocol";
import { describe, expect } from "vitest";
import { listRoutePermissions } from "../src/middleware/auth";
import { AUDIT_ACTIONS } from "../src/services/audit";
import { USER_ROLE_PERMISSIONS } from "../src/services/permissions";
import { secTest as test } from "./security-fixture";

/**
 * `docs/security.md` carries three generated tables: route → permission (from the routes' own
 * `authorize` declarations, the single source) and permission → presets/roles, and the audit actions. This test fails when
 * either is stale; regenerate with `M3SHD_UPDATE_DOCS=1 pnpm --filter @m3shd/hub test security-docs`.
 */

const DOC = fileURLToPath(new URL("../../../docs/security.md", import.meta.url));
const PRESETS = ["worker", "mobile", "commander", "admin"] as const;

function holders(permission: Permission): string {
  const presets = PRESETS.filter((p) => (ROLE_PRESETS[p] as readonly Permission[]).includes(permission));
  const roles = USER_ROLES.filter((r) => USER_ROLE_PERMISSIONS[r].includes(permission)).map((r) => `*${r}*`);
  return [...presets, ...roles].join(", ");
}

function routeTable(routes: ReturnType<typeof listRoutePermissions>): string {
  const rows = routes.map((r) => {
    const permission = r.permission === "public" ? "public" : `\`${r.permission}\``;
    const who = r.permission === "public" || r.permission === null ? "anyone" : holders(r.permission);
    return `| \`${r.method}\` | \`${r.path}\` | ${permission} | ${who} |`;
  });
  return [
    "| method | route | permission | held by (presets, *user roles*; master always) |",
    "| --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

function presetTable(): string {
  const header = `| permission | ${PRESETS.join(" | ")} | ${USER_ROLES.map((r) => `*${r}*`).join(" | ")} |`;
  const rule = `| --- |${" :-: |".repeat(PRESETS.length + USER_ROLES.length)}`;
  const rows = PERMISSIONS.map((p) => {
    const cells = [
      ...PRESETS.map((preset) => (ROLE_PRESETS[preset] as readonly Permission[]).includes(p)),
      ...USER_ROLES.map((role) => USER_ROLE_PERMISSIONS[role].includes(p)),
    ].map((has) => (has ? "✓" : ""));
    return `| \`${p}\` | ${cells.join(" | ")} |`;
  });
  const counts = [
    ...PRESETS.map((p) => ROLE_PRESETS[p].length),
    ...USER_ROLES.map((r) => USER_ROLE_PERMISSIONS[r].length),
  ];
  return [header, rule, ...rows, `| **total** | ${counts.join(" | ")} |`].join("\n");
}

function auditTable(): string {
  const rows = Object.entries(AUDIT_ACTIONS).map(([action, meaning]) => `| \`${action}\` | ${meaning} |`);
  return ["| action | recorded when |", "| --- | --- |", ...rows].join("\n");
}

function replaceBlock(doc: string, name: string, body: string): string {
  const begin = `<!-- generated:${name}:begin -->`;
  const end = `<!-- generated:${name}:end -->`;
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/security.md lacks the ${name} markers`);
  return `${doc.slice(0, from + begin.length)}\n${body}\n${doc.slice(to)}`;
}

describe("docs/security.md", () => {
  test("its route → permission and preset tables match the code", ({ t }) => {
    const routes = listRoutePermissions(t.hub.app);
    const current = readFileSync(DOC, "utf8");
    const wanted = replaceBlock(
      replaceBlock(replaceBlock(current, "routes", routeTable(routes)), "presets", presetTable()),
      "audit",
      auditTable(),
    );
    const update = process.env.M3SHD_UPDATE_DOCS === "1" && wanted !== current;
    if (update) writeFileSync(DOC, wanted);
    expect(
      update ? readFileSync(DOC, "utf8") : current,
      "docs/security.md is stale: run M3SHD_UPDATE_DOCS=1 pnpm --filter @m3shd/hub test security-docs",
    ).toBe(wanted);
  });
});
