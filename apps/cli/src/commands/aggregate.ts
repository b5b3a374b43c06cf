import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { sha256Hex } from "@m3shd/crypto";
import type { LedgerEntry } from "@m3shd/protocol";
import { CliError } from "../context";
import type { CommandModule } from "../program";

export const AGGREGATE_FORMAT = "m3shd-aggregate";

/** `m3shd aggregate`: the validated results as one versioned artifact. */
export const aggregateCommand: CommandModule = {
  name: "aggregate",
  register(program, context) {
    program
      .command("aggregate")
      .description("write every validated result (valid or trusted) as one versioned JSON artifact")
      .option("--out <file>", "where to write it", "m3shd-aggregate.json")
      .option("--job <type>", "only this job type")
      .action(async (opts: { out: string; job?: string }) => {
        const ctx = context();
        const client = ctx.client();
        const entries: LedgerEntry[] = [];
        let cursor: string | undefined;
        do {
          const { body } = await client.ledger.list({ query: { limit: 500, ...(cursor ? { cursor } : {}) } });
          entries.push(...body.entries);
          cursor = body.next_cursor ?? undefined;
        } while (cursor);
        const credited = entries.filter(
          (e) => (e.outcome === "valid" || e.outcome === "trusted") && (!opts.job || e.job_type === opts.job),
        );
        const bar = ctx.progress("results", credited.length);
        const results = [];
        for (const e of credited) {
          const { body } = await client.tasks.get({ params: { id: e.task_id } });
          const output = body.task.output ?? "";
          // The artifact holds only outputs the ledger vouches for, byte for byte.
          if (sha256Hex(output) !== e.output_sha256)
            throw new CliError(`task ${e.task_id}: its output no longer matches ledger entry ${e.id}`);
          results.push({
            task_id: e.task_id,
            job_type: e.job_type,
            agent_id: e.agent_id,
            ledger_entry: e.id,
            outcome: e.outcome,
            units: e.units,
            output_sha256: e.output_sha256,
            output,
          });
          bar.tick();
        }
        bar.done();
        const artifact = {
          format: AGGREGATE_FORMAT,
          version: 1,
          hub: client.baseUrl,
          created_at: new Date().toISOString(),
          count: results.length,
          results,
        };
        const path = resolve(opts.out);
        writeFileSync(path, `${JSON.stringify(artifact, null, 2)}\n`);
        ctx.print(
          { ok: true, path, count: results.length },
          () => `${ctx.colors.green("wrote")} ${path}: ${results.length} validated results`,
        );
      });
  },
};
