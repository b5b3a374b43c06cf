/**
 * Contribution benchmark, on the hub's own code paths against a real SQLite file:
 *
 * - `validate.recompute_per_s`: results validated by recomputation per second — the validator's
 *   decision for a node in probation (streak read, seed-manifest job parsed and rerun, bytes
 *   compared), one IMMEDIATE transaction per result as in a completion, over a mix of the five
 *   seed jobs on ~600-character texts.
 * - `ledger.append_per_s`: ledger entries appended per second — the entry hashed over its canonical
 *   JSON, its row and its Merkle leaf written, one IMMEDIATE transaction per entry.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getTask, insertTask, openDatabase, upsertAgent } from "@m3shd/db";
import { DEFAULT_CONTRIBUTION_CONFIG, decideValidation, recordContribution } from "@m3shd/hub";
import { readJobRequest, runJob } from "@m3shd/jobs";
import { newId } from "@m3shd/protocol";

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

export async function benchContribution(quick = false): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), "m3shd-bench-contribution-"));
  const database = openDatabase({ path: join(dir, "bench.db") });
  try {
    const db = database.db;
    const now = Date.now();
    upsertAgent(db, {
      id: "bench-node",
      name: "bench-node",
      capabilities: [],
      maxConcurrent: 1,
      provider: "jobs",
      now,
    });
    const text = "Contribution is checked by recomputing deterministic jobs and credited by rules. ".repeat(
      7,
    );
    const seed = [
      { job_type: "echo", payload: { text } },
      { job_type: "text_stats", payload: { text } },
      { job_type: "keyword_extract", payload: { text, limit: 5 } },
      { job_type: "text_chunk", payload: { text, max_chars: 120 } },
      { job_type: "text_embed", payload: { text, dimensions: 8 } },
    ] as const;
    const n = quick ? 500 : 3000;
    log(`contribution: ${n} tasks…`);
    const rows = [];
    for (let i = 0; i < n; i++) {
      const job = seed[i % seed.length] as (typeof seed)[number];
      const id = newId("task");
      insertTask(db, {
        task: { id, title: "bench", prompt: JSON.stringify(job), requiredCapability: job.job_type },
        now,
      });
      const row = getTask(db, id);
      if (!row) throw new Error("task row missing");
      const read = readJobRequest(row.prompt, row.requiredCapability);
      if (read.ok !== true) throw new Error("seed job did not parse");
      rows.push({ row, body: { status: "done" as const, output: runJob(read.request), attempt: 1 } });
    }
    // Probation for every result (streak stays below 10 because nothing is recorded here): the
    // validator recomputes each one.
    const config = { ...DEFAULT_CONTRIBUTION_CONFIG, probation: Number.MAX_SAFE_INTEGER };
    let start = performance.now();
    const decisions = [];
    for (const { row, body } of rows) {
      decisions.push(
        db.transaction((tx) => decideValidation(tx, config, row, "bench-node", body), {
          behavior: "immediate",
        }),
      );
    }
    const recompute = n / ((performance.now() - start) / 1000);
    if (decisions.some((d) => d.outcome !== "valid")) throw new Error("a recomputation disagreed");

    start = performance.now();
    for (const [i, { row, body }] of rows.entries()) {
      const decision = decisions[i];
      if (!decision) continue;
      db.transaction(
        (tx) =>
          recordContribution(tx, {
            row,
            agentId: "bench-node",
            body,
            verified: { signed: false, keyId: null, envelope: null },
            decision,
            now,
          }),
        { behavior: "immediate" },
      );
    }
    const append = n / ((performance.now() - start) / 1000);
    log(`contribution: ${Math.round(recompute)} recomputes/s, ${Math.round(append)} ledger appends/s`);
    return { "validate.recompute_per_s": Math.round(recompute), "ledger.append_per_s": Math.round(append) };
  } finally {
    database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
