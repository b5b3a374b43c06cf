import { RolePresetSchema } from "@m3shd/protocol";
import { CliError } from "../context";
import type { CommandModule } from "../program";

/** `m3shd token create`: mints an agent token (shown once). */
export const tokenCommand: CommandModule = {
  name: "token",
  register(program, context) {
    const token = program.command("token").description("agent tokens");
    token
      .command("create")
      .description("mint a token for one agent (printed once; needs admin:tokens)")
      .requiredOption("--agent <id>", "the agent it acts for")
      .option("--role <preset>", "worker | mobile | commander | admin", "worker")
      .option(
        "--capabilities <list>",
        "comma-separated capabilities it may register (default: its first registration's)",
      )
      .action(async (opts: { agent: string; role: string; capabilities?: string }) => {
        const ctx = context();
        const role = RolePresetSchema.safeParse(opts.role);
        if (!role.success)
          throw new CliError(`--role must be one of ${RolePresetSchema.options.join(", ")}`, 2);
        const { body } = await ctx.client().tokens.create({
          body: {
            agent_id: opts.agent,
            role: role.data,
            ...(opts.capabilities ? { capabilities: opts.capabilities.split(",").map((c) => c.trim()) } : {}),
          },
        });
        ctx.print(body, () =>
          [
            `${ctx.colors.green("minted")} token for ${opts.agent} (${role.data})`,
            body.token,
            ctx.colors.dim("shown once: store it now (e.g. M3SHD_TOKEN for m3shd-worker)"),
          ].join("\n"),
        );
      });
  },
};
