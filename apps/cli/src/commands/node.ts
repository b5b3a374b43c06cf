import { existsSync } from "node:fs";
import { ConfigError, loadWorkerConfig, startWorker } from "@m3shd/worker";
import { CliError } from "../context";
import type { CommandModule } from "../program";

/**
 * `m3shd node start`: runs a worker in this process from the identity and the config
 * (`$M3SHD_HOME/config.json`, `m3shd init`), through the worker's own configuration rules —
 * anything after `--` goes to it as `m3shd-worker` flags.
 */
export const nodeCommand: CommandModule = {
  name: "node",
  register(program, context) {
    const node = program.command("node").description("run this machine as a node of the mesh");
    node
      .command("start")
      .description("start a worker from the identity and config (Ctrl-C stops it gracefully)")
      .option("--id <slug>", "agent id (default: config node.id)")
      .option("--provider <kind>", "provider (default: config node.provider, else jobs)")
      .option("--capabilities <list>", "comma-separated (default: config node.capabilities)")
      .option("--slots <n>", "concurrent tasks")
      .argument("[worker-flags...]", "more m3shd-worker flags, after --")
      .action(
        async (
          extra: string[],
          opts: { id?: string; provider?: string; capabilities?: string; slots?: string },
        ) => {
          const ctx = context();
          const config = ctx.config();
          const id = opts.id ?? config.node?.id;
          if (!id) throw new CliError("No node id: pass --id or run `m3shd init --id NAME`", 2);
          const capabilities = opts.capabilities ?? config.node?.capabilities?.join(",");
          const slots = opts.slots ?? (config.node?.slots ? String(config.node.slots) : undefined);
          const argv = [
            "--hub",
            ctx.hubUrl(),
            "--id",
            id,
            "--provider",
            opts.provider ?? config.node?.provider ?? "jobs",
            ...(capabilities ? ["--capabilities", capabilities] : []),
            ...(slots ? ["--slots", slots] : []),
            ...(existsSync(ctx.identityPath) ? ["--identity", ctx.identityPath] : []),
            ...extra,
          ];
          const token = ctx.token();
          let loaded: ReturnType<typeof loadWorkerConfig>;
          try {
            loaded = loadWorkerConfig(argv, { ...ctx.io.env, ...(token ? { M3SHD_TOKEN: token } : {}) });
          } catch (err) {
            if (err instanceof ConfigError) throw new CliError(err.message, 2);
            throw err;
          }
          if (loaded.kind !== "run") throw new CliError("m3shd node start: unexpected --help/--version", 2);
          const worker = await startWorker(loaded.config);
          const stop = () => void worker.stop();
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
          try {
            await worker.done;
          } finally {
            process.off("SIGINT", stop);
            process.off("SIGTERM", stop);
          }
          ctx.print({ ok: true, agent_id: id, stats: worker.stats() }, () => `node ${id} stopped`);
        },
      );
  },
};
