import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

/**
 * `tools/list` as committed in `__snapshots__/tools-list.json`: names, descriptions, annotations,
 * task support and the full input/output JSON Schemas, so any schema change shows in review.
 * Regenerate with `M3SHD_UPDATE_SNAPSHOTS=1 pnpm --filter @m3shd/mcp test`.
 */
export const TOOLS_SNAPSHOT = fileURLToPath(new URL("./__snapshots__/tools-list.json", import.meta.url));

export function expectToolsSnapshot(tools: unknown, what: string): void {
  // Compared as parsed JSON (the formatter may re-wrap the committed file), so only content counts.
  const current = JSON.parse(JSON.stringify({ tools }));
  if (process.env.M3SHD_UPDATE_SNAPSHOTS === "1")
    writeFileSync(TOOLS_SNAPSHOT, `${JSON.stringify(current, null, 2)}\n`);
  expect(
    current,
    `${what}: tools/list differs from test/__snapshots__/tools-list.json (regenerate with M3SHD_UPDATE_SNAPSHOTS=1 if intended)`,
  ).toEqual(JSON.parse(readFileSync(TOOLS_SNAPSHOT, "utf8")));
}
