import { existsSync } from "node:fs";
import { auditBundle } from "../bundle";
import { CliError } from "../context";
import type { CommandModule } from "../program";

/** `m3shd audit BUNDLE`: offline, read-only; exits 1 naming every bad entry. */
export const auditCommand: CommandModule = {
  name: "audit",
  register(program, context) {
    program
      .command("audit")
      .description("verify a bundle offline: signatures, receipt ↔ ledger, unit totals, Merkle inclusion")
      .argument("<bundle>", "a directory written by `m3shd export`")
      .action((bundle: string) => {
        const ctx = context();
        if (!existsSync(bundle)) throw new CliError(`${bundle}: no such bundle`, 2);
        const result = auditBundle(bundle, { progress: (total) => ctx.progress("receipts", total) });
        const c = ctx.colors;
        const { checked } = result;
        ctx.print(result, () =>
          result.ok
            ? `${c.green("audit passed")}: ${checked.entries} ledger entries, ${checked.receipts} receipts, ${checked.signatures} signatures, ${checked.proofs} inclusion proofs, ${checked.keys} keys; ${Object.values(result.totals).reduce((s, t) => s + t.units, 0)} units`
            : [
                c.red(
                  `audit failed: ${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}`,
                ),
                ...result.problems.map((p) => `  ${p}`),
              ].join("\n"),
        );
        if (!result.ok) ctx.state.exitCode = 1;
      });
  },
};
