import { resolve } from "node:path";
import { exportBundle } from "../bundle";
import type { CommandModule } from "../program";

/** `m3shd export DIR`: a self-contained bundle to audit offline. */
export const exportCommand: CommandModule = {
  name: "export",
  register(program, context) {
    program
      .command("export")
      .description("write a self-contained bundle: receipts, ledger, Merkle checkpoint, node public keys")
      .argument(
        "[dir]",
        "an empty or new directory",
        `m3shd-bundle-${new Date().toISOString().replace(/[:.]/g, "-")}`,
      )
      .option("--node <agent>", "only this node's contributions")
      .action(async (dir: string, opts: { node?: string }) => {
        const ctx = context();
        const out = await exportBundle(ctx.client(), resolve(dir), {
          ...(opts.node ? { node: opts.node } : {}),
          progress: (total) => ctx.progress("receipts", total),
        });
        const c = ctx.colors;
        ctx.print({ ok: true, ...out }, () =>
          [
            `${c.green("exported")} ${out.dir}`,
            `  checkpoint tree_size=${out.checkpoint.tree_size} root ${out.checkpoint.root}`,
            `  ${out.counts.entries} ledger entries, ${out.counts.receipts} receipts, ${out.counts.nodes} nodes`,
            c.dim(`verify it anywhere: m3shd audit ${dir}`),
          ].join("\n"),
        );
      });
  },
};
