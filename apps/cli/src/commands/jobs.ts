import { TaskStatusSchema } from "@m3shd/protocol";
import { ago, CliError, table } from "../context";
import type { CommandModule } from "../program";

/** `m3shd jobs`: recent tasks, newest first. */
export const jobsCommand: CommandModule = {
  name: "jobs",
  register(program, context) {
    program
      .command("jobs")
      .description("recent tasks, newest first")
      .option("--limit <n>", "how many (default 20)", "20")
      .option("--status <status>", "only tasks in this status")
      .option("--node <agent>", "only tasks assigned to this agent")
      .action(async (opts: { limit: string; status?: string; node?: string }) => {
        const ctx = context();
        const status = opts.status === undefined ? undefined : TaskStatusSchema.safeParse(opts.status);
        if (status && !status.success)
          throw new CliError(`--status must be one of ${TaskStatusSchema.options.join(", ")}`, 2);
        const { body } = await ctx.client().tasks.list({
          query: {
            limit: opts.limit,
            ...(status?.success ? { status: status.data } : {}),
            ...(opts.node ? { agent: opts.node } : {}),
          },
        });
        const c = ctx.colors;
        const paint = (s: string) =>
          s === "done"
            ? c.green(s)
            : s === "failed" || s === "cancelled"
              ? c.red(s)
              : s === "running"
                ? c.cyan(s)
                : c.yellow(s);
        ctx.print({ tasks: body.tasks }, () =>
          body.tasks.length === 0
            ? c.dim("no tasks")
            : table(
                ["task", "status", "capability", "agent", "attempts", "created"],
                body.tasks.map((t) => [
                  t.id,
                  paint(t.status),
                  t.required_capability,
                  t.assigned_to ?? "-",
                  `${t.attempts}/${t.max_attempts}`,
                  ago(t.created_at),
                ]),
              ),
        );
      });
  },
};
