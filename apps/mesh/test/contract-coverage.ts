import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where the global setup collects hits across test files (one file per worker process). */
export const HITS_DIR_ENV = "M3SHD_CONTRACT_HITS_DIR";
/** File in that directory listing every hub route id (written by the workers, which read protocol). */
export const ROUTE_IDS_FILE = "route-ids.json";

/**
 * Vitest global setup: collects the route ids every integration test file hit (see contract.ts)
 * and, after the run, prints which of `HUB_ROUTES` were reached and which were not. The enforcing
 * check is `contract.test.ts`, which calls every route itself; this listing shows what the
 * scenario tests cover on top of it. (It imports nothing from the workspace: global setup runs
 * before the `@m3shd/source` condition applies, so the workers write the route list for it.)
 */
export default function setup() {
  const dir = mkdtempSync(join(tmpdir(), "m3shd-contract-hits-"));
  process.env[HITS_DIR_ENV] = dir;
  return () => {
    const hits = new Map<string, Set<number>>();
    let ids: string[] = [];
    for (const file of readdirSync(dir)) {
      if (file === ROUTE_IDS_FILE) {
        ids = JSON.parse(readFileSync(join(dir, file), "utf8")) as string[];
        continue;
      }
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
    const missing = ids.filter((id) => !hits.has(id));
    const lines = ids
      .filter((id) => hits.has(id))
      .map((id) => `  ${id.padEnd(26)} ${[...(hits.get(id) ?? [])].sort().join(" ")}`);
    console.log(
      `\nRoute contract: the integration tests hit ${hits.size}/${ids.length} hub routes ` +
        `(every response parsed with its declared schema):\n${lines.join("\n")}` +
        (missing.length ? `\n  not hit: ${missing.join(", ")}` : "\n  not hit: none"),
    );
  };
}
