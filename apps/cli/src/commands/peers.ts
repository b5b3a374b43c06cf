import { ago, table } from "../context";
import type { CommandModule } from "../program";

/** `m3shd peers`: agents with liveness (and federation peers, once the hub has any). */
export const peersCommand: CommandModule = {
  name: "peers",
  register(program, context) {
    program
      .command("peers")
      .description(
        "agents (nodes) with liveness, breaker and signing key; federation peers when the hub has them",
      )
      .action(async () => {
        const ctx = context();
        const { body } = await ctx.client().agents.list();
        const now = Date.now();
        // This hub has no federation routes yet (issue 16): its peer list is empty by construction.
        const result = { agents: body.agents, federation_peers: [] as unknown[] };
        const c = ctx.colors;
        const status = (s: string) => (s === "online" ? c.green(s) : s === "busy" ? c.yellow(s) : c.dim(s));
        ctx.print(result, () =>
          [
            table(
              ["agent", "status", "last seen", "slots", "breaker", "key", "capabilities"],
              body.agents.map((a) => [
                a.id,
                status(a.status),
                ago(a.last_seen_at, now),
                `${a.active_tasks}/${a.max_concurrent}`,
                a.breaker.state === "closed" ? a.breaker.state : c.red(a.breaker.state),
                a.node_key
                  ? `${a.node_key.key_id}${a.node_key.status === "active" ? "" : ` (${a.node_key.status})`}`
                  : c.dim("unsigned"),
                a.capabilities.join(","),
              ]),
            ),
            c.dim("federation peers: none (this hub serves no federation routes)"),
          ].join("\n"),
        );
      });
  },
};
