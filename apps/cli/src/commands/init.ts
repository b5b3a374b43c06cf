import { initIdentity } from "@m3shd/worker";
import type { CommandModule } from "../program";

/** `m3shd init`: the node's identity (as `m3shd-worker init`) and the CLI config. */
export const initCommand: CommandModule = {
  name: "init",
  register(program, context) {
    program
      .command("init")
      .description("create this node's Ed25519 identity (0600) and $M3SHD_HOME/config.json")
      .option("--id <slug>", "this node's agent id")
      .option("--provider <kind>", "provider `m3shd node start` runs (default jobs)")
      .option("--capabilities <list>", "comma-separated capabilities for `m3shd node start`")
      .option("--force", "replace an existing identity (the hub then needs an admin to rotate the key)")
      .action((opts: { id?: string; provider?: string; capabilities?: string; force?: boolean }) => {
        const ctx = context();
        const { created, path, identity } = initIdentity(ctx.identityPath, {
          nodeId: opts.id ?? null,
          force: opts.force === true,
        });
        const config = ctx.config();
        const node = {
          ...config.node,
          ...(opts.id ? { id: opts.id } : {}),
          ...(opts.provider ? { provider: opts.provider } : {}),
          ...(opts.capabilities ? { capabilities: opts.capabilities.split(",").map((c) => c.trim()) } : {}),
        };
        const hub = ctx.options.hub ?? config.hub;
        ctx.saveConfig({ ...config, ...(hub ? { hub } : {}), node });
        const c = ctx.colors;
        ctx.print(
          {
            created,
            identity: path,
            config: ctx.configPath,
            key_id: identity.key_id,
            public_key: identity.public_key,
          },
          () =>
            [
              `${created ? c.green("created") : c.yellow("kept existing")} identity ${c.bold(identity.key_id)}`,
              `  identity   ${path}`,
              `  config     ${ctx.configPath}`,
              `  public key ${identity.public_key}`,
              c.dim(
                "The hub binds this key to the node at its first registration; results are then signed with it.",
              ),
            ].join("\n"),
        );
      });
  },
};
