import type { LedgerEntry } from "@m3shd/protocol";
import { ago, table } from "../context";
import type { CommandModule } from "../program";

/** `m3shd ledger`: the credit ledger (or its per-node summary), with how each entry was computed. */
export const ledgerCommand: CommandModule = {
  name: "ledger",
  register(program, context) {
    program
      .command("ledger")
      .description("the credit ledger: every result, its validation and its units (or --summary per node)")
      .option("--node <agent>", "only this node's entries")
      .option("--since <epochMs>", "only entries created at or after this time (epoch ms)")
      .option("--limit <n>", "entries per page (default 100)", "100")
      .option("--summary", "per node: units, validated, invalid, streak")
      .action(async (opts: { node?: string; since?: string; limit: string; summary?: boolean }) => {
        const ctx = context();
        const client = ctx.client();
        const c = ctx.colors;
        if (opts.summary) {
          const { body } = await client.ledger.summary();
          ctx.print(body, () =>
            [
              table(
                ["node", "units", "validated", "invalid", "unsupported", "streak"],
                body.nodes.map((n) => [
                  n.agent_id,
                  c.bold(String(n.units)),
                  String(n.validated),
                  n.invalid > 0 ? c.red(String(n.invalid)) : "0",
                  String(n.unsupported),
                  String(n.streak),
                ]),
              ),
              `${c.bold(String(body.total_units))} units over ${body.entries} entries`,
            ].join("\n"),
          );
          return;
        }
        const { body } = await client.ledger.list({
          query: {
            limit: opts.limit,
            ...(opts.node ? { node: opts.node } : {}),
            ...(opts.since ? { since: opts.since } : {}),
          },
        });
        const outcome = (e: LedgerEntry) =>
          e.outcome === "valid" || e.outcome === "trusted"
            ? c.green(e.outcome)
            : e.outcome === "invalid"
              ? c.red(e.outcome)
              : c.dim(e.outcome);
        ctx.print(body, () =>
          body.entries.length === 0
            ? c.dim("no ledger entries")
            : table(
                ["seq", "node", "task", "job", "outcome", "units", "signed", "how", "when"],
                body.entries.map((e) => [
                  String(e.seq),
                  e.agent_id,
                  e.task_id,
                  e.job_type,
                  outcome(e),
                  c.bold(String(e.units)),
                  e.signed ? "yes" : c.yellow("unsigned"),
                  `${e.explanation} · ${e.validation.reason}`,
                  ago(e.created_at),
                ]),
              ) +
              (body.next_cursor ? `\n${c.dim(`more: --since or the API cursor ${body.next_cursor}`)}` : ""),
        );
      });
  },
};
