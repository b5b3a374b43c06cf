import { table } from "../context";
import type { CommandModule } from "../program";

/** `m3shd status`: hub health and a fleet summary. */
export const statusCommand: CommandModule = {
  name: "status",
  register(program, context) {
    program
      .command("status")
      .description("hub health, fleet summary and contribution totals")
      .action(async () => {
        const ctx = context();
        const client = ctx.client();
        const [health, agents, summary] = await Promise.all([
          client.health.get(),
          client.agents.list(),
          client.ledger.summary(),
        ]);
        const list = agents.body.agents;
        const fleet = {
          agents: list.length,
          online: list.filter((a) => a.status === "online").length,
          busy: list.filter((a) => a.status === "busy").length,
          offline: list.filter((a) => a.status === "offline").length,
          active_tasks: list.reduce((s, a) => s + a.active_tasks, 0),
          slots: list.reduce((s, a) => s + a.max_concurrent, 0),
        };
        const result = { hub: client.baseUrl, health: health.body, fleet, ledger: summary.body };
        const c = ctx.colors;
        ctx.print(result, () => {
          const h = health.body;
          const state = h.status === "ok" ? c.green("ok") : c.yellow(h.status);
          return [
            `${c.bold("hub")} ${client.baseUrl}  ${state}  v${h.version}  up ${Math.round(h.uptime_s)}s  db ${h.db}  queue ${h.queue.driver}/${h.queue.redis}`,
            `${c.bold("fleet")} ${fleet.agents} agents: ${c.green(`${fleet.online} online`)}, ${c.yellow(`${fleet.busy} busy`)}, ${c.dim(`${fleet.offline} offline`)}; ${fleet.active_tasks}/${fleet.slots} slots in use`,
            `${c.bold("ledger")} ${summary.body.total_units} units over ${summary.body.entries} entries`,
            summary.body.nodes.length > 0
              ? table(
                  ["node", "units", "validated", "invalid", "streak"],
                  summary.body.nodes.map((n) => [
                    n.agent_id,
                    String(n.units),
                    String(n.validated),
                    n.invalid > 0 ? c.red(String(n.invalid)) : "0",
                    String(n.streak),
                  ]),
                )
              : c.dim("no contributions yet"),
          ].join("\n");
        });
      });
  },
};
