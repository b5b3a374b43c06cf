import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HUB_ROUTES } from "@m3shd/protocol";
import { HITS_DIR_ENV } from "./contract";

/**
 * Vitest global setup: collects the route ids every integration test file hit (see contract.ts)
 * and, after the run, prints which of `HUB_ROUTES` were reached and which were not. The enforcing
 * check is `contract.test.ts`, which calls every route itself; this listing shows what the
 * scenario tests cover on top of it.
 */
export default function setup() {
  const dir = mkdtempSync(join(tmpdir(), "m3shd-contract-hits-"));
  process.env[HITS_DIR_ENV] = dir;
  return () => {
    const hits = new Map<string, Set<number>>();
    for (const file of readdirSync(dir)) {
      for (const line of readFileSync(join(dir, file), "utf8").split("\n")) {
        if (!line) continue;
        const [id, status] = JSON.parse(line) as [string, number];
        const statuses = hits.get(id) ?? new Set<number>();
        statuses.add(status);
        hits.set(id, statuses);
      }
    }
    rmSync(dir, { recursive: true, force: true });
    if (hits.size === 0) return;
    const missing = HUB_ROUTES.map((r) => r.id).filter((id) => !hits.has(id));
    const lines = HUB_ROUTES.filter((r) => hits.has(r.id)).map(
      (r) => `  ${r.id.padEnd(26)} ${[...(hits.get(r.id) ?? [])].sort().join(" ")}`,
    );
    console.log(
      `\nRoute contract: the integration tests hit ${hits.size}/${HUB_ROUTES.length} hub routes ` +
        `(every response parsed with its declared schema):\n${lines.join("\n")}` +
        (missing.length ? `\n  not hit: ${missing.join(", ")}` : "\n  not hit: none"),
    );
  };
}
